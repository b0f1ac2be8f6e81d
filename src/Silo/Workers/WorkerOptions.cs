using Microsoft.Extensions.Options;
using Orleans.Jobs.Grains.Interfaces;

namespace Orleans.Jobs.Silo.Workers;

/// <summary>Options of a silo's worker grains.</summary>
public sealed class WorkerOptions
{
    /// <summary>Default of <see cref="MaxConcurrency"/>.</summary>
    public const int DefaultMaxConcurrency = 16;

    /// <summary>Default of <see cref="ShutdownTimeout"/>.</summary>
    public static readonly TimeSpan DefaultShutdownTimeout = TimeSpan.FromSeconds(30);

    /// <summary>Default of <see cref="PollTimeout"/>.</summary>
    public static readonly TimeSpan DefaultPollTimeout = TimeSpan.FromSeconds(30);

    /// <summary>The most jobs this silo runs at once, over all queues.</summary>
    public int MaxConcurrency { get; set; } = DefaultMaxConcurrency;

    /// <summary>On graceful shutdown, how long running jobs may take to finish before they are cancelled and released.</summary>
    public TimeSpan ShutdownTimeout { get; set; } = DefaultShutdownTimeout;

    /// <summary>The longest a worker blocks in one wait for jobs; it waits again at once. Notifications wake it sooner.</summary>
    public TimeSpan PollTimeout { get; set; } = DefaultPollTimeout;

    /// <summary>The lease of jobs claimed by workers; null uses each queue's setting.</summary>
    public TimeSpan? LeaseDuration { get; set; }

    /// <summary>
    /// Jobs claimed ahead of free workers and held in this silo (their leases renewed) so workers never wait for a
    /// round trip and claims come in large batches. Unset (the default), the silo sizes it from what it observes: the
    /// work its runners do in one second at the jobs' mean duration, at most a quarter of the shortest lease's work
    /// and at most <see cref="MaxLookAhead"/> jobs; 0 until a job has finished, and small for long jobs, which so
    /// spread fairly over silos. A dying silo strands at most that many jobs beyond its running ones until Orleans
    /// declares it dead. Set it to fix the look-ahead instead (0: claim only for free workers).
    /// </summary>
    public int? Prefetch { get; set; }

    /// <summary>The most jobs the adaptive look-ahead holds (unused when <see cref="Prefetch"/> is set).</summary>
    public int MaxLookAhead { get; set; } = DefaultMaxLookAhead;

    /// <summary>Default of <see cref="MaxLookAhead"/>: two claims' worth, so one can be in flight while the workers eat the other.</summary>
    public const int DefaultMaxLookAhead = 2 * QueueLimits.MaxClaimBatch;
}

internal sealed class WorkerOptionsValidator : IValidateOptions<WorkerOptions>
{
    public ValidateOptionsResult Validate(string? name, WorkerOptions options)
    {
        var failures = new List<string>();
        if (options.MaxConcurrency is < 1 or > 10_000)
            failures.Add($"{nameof(WorkerOptions)}.{nameof(WorkerOptions.MaxConcurrency)} must be between 1 and 10000 (was {options.MaxConcurrency}).");
        if (options.ShutdownTimeout < TimeSpan.Zero)
            failures.Add($"{nameof(WorkerOptions)}.{nameof(WorkerOptions.ShutdownTimeout)} must not be negative.");
        if (options.PollTimeout <= TimeSpan.Zero || options.PollTimeout > QueueLimits.MaxWait)
            failures.Add($"{nameof(WorkerOptions)}.{nameof(WorkerOptions.PollTimeout)} must be between 0 and {QueueLimits.MaxWait} (was {options.PollTimeout}).");
        if (options.MaxLookAhead is < 0 or > 100_000)
            failures.Add($"{nameof(WorkerOptions)}.{nameof(WorkerOptions.MaxLookAhead)} must be between 0 and 100000 (was {options.MaxLookAhead}).");
        if (options.Prefetch is < 0 or > 100_000)
            failures.Add($"{nameof(WorkerOptions)}.{nameof(WorkerOptions.Prefetch)} must be between 0 and 100000 (was {options.Prefetch}).");
        if (options.LeaseDuration is { } lease && (lease < QueueLimits.MinLeaseDuration || lease > QueueLimits.MaxLeaseDuration))
            failures.Add($"{nameof(WorkerOptions)}.{nameof(WorkerOptions.LeaseDuration)} must be between {QueueLimits.MinLeaseDuration} and {QueueLimits.MaxLeaseDuration}.");
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
