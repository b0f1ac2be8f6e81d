using Microsoft.Extensions.Options;

namespace Orleans.Jobs.Runtime.Reminders;

/// <summary>Options of the reminder service.</summary>
public sealed class ReminderOptions
{
    /// <summary>Default of <see cref="PollPeriod"/>.</summary>
    public static readonly TimeSpan DefaultPollPeriod = TimeSpan.FromSeconds(1);

    /// <summary>Default of <see cref="MinimumPeriod"/>.</summary>
    public static readonly TimeSpan DefaultMinimumPeriod = TimeSpan.FromSeconds(1);

    /// <summary>Default of <see cref="MaxTicksPerPoll"/>.</summary>
    public const int DefaultMaxTicksPerPoll = 100;

    /// <summary>How often each silo looks for due ticks. A tick is late by at most this much.</summary>
    public TimeSpan PollPeriod { get; set; } = DefaultPollPeriod;

    /// <summary>The shortest period a reminder may have.</summary>
    public TimeSpan MinimumPeriod { get; set; } = DefaultMinimumPeriod;

    /// <summary>The most ticks a silo takes per poll.</summary>
    public int MaxTicksPerPoll { get; set; } = DefaultMaxTicksPerPoll;

    /// <summary>Default of <see cref="MaxConcurrentTicks"/>.</summary>
    public const int DefaultMaxConcurrentTicks = 8;

    /// <summary>The most ticks a silo delivers at once; each is a grain turn holding a store connection.</summary>
    public int MaxConcurrentTicks { get; set; } = DefaultMaxConcurrentTicks;
}

internal sealed class ReminderOptionsValidator : IValidateOptions<ReminderOptions>
{
    public ValidateOptionsResult Validate(string? name, ReminderOptions options)
    {
        var failures = new List<string>();
        if (options.PollPeriod <= TimeSpan.Zero)
            failures.Add($"{nameof(ReminderOptions)}.{nameof(ReminderOptions.PollPeriod)} must be positive (was {options.PollPeriod}).");
        if (options.MinimumPeriod <= TimeSpan.Zero)
            failures.Add($"{nameof(ReminderOptions)}.{nameof(ReminderOptions.MinimumPeriod)} must be positive (was {options.MinimumPeriod}).");
        if (options.MaxConcurrentTicks < 1)
            failures.Add($"{nameof(ReminderOptions)}.{nameof(ReminderOptions.MaxConcurrentTicks)} must be at least 1 (was {options.MaxConcurrentTicks}).");
        if (options.MaxTicksPerPoll < 1)
            failures.Add($"{nameof(ReminderOptions)}.{nameof(ReminderOptions.MaxTicksPerPoll)} must be at least 1 (was {options.MaxTicksPerPoll}).");
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
