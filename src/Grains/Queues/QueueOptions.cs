using Microsoft.Extensions.Options;
using Orleans.Jobs.Grains.Interfaces;

namespace Orleans.Jobs.Grains.Queues;

/// <summary>Silo-wide options of queue grains.</summary>
public sealed class QueueOptions
{
    /// <summary>Default of <see cref="SettingsCacheDuration"/>.</summary>
    public static readonly TimeSpan DefaultSettingsCacheDuration = TimeSpan.FromSeconds(5);

    /// <summary>The settings of queues that were never configured with <see cref="IQueueGrain.ConfigureAsync"/>.</summary>
    public QueueSettings Defaults { get; set; } = new();

    /// <summary>How long a silo uses a queue's settings before rereading them; a change made on another silo takes at most this long to apply here.</summary>
    public TimeSpan SettingsCacheDuration { get; set; } = DefaultSettingsCacheDuration;

    /// <summary>Default of <see cref="KeepAlivePeriod"/>: Orleans' default minimum reminder period.</summary>
    public static readonly TimeSpan DefaultKeepAlivePeriod = TimeSpan.FromMinutes(1);

    /// <summary>
    /// The period of the reminder that brings a queue's monitor back after the silo hosting it stops or dies: the
    /// longest a queue nobody touches goes unmonitored. It must not be below Orleans' <c>ReminderOptions.MinimumReminderPeriod</c>.
    /// </summary>
    public TimeSpan KeepAlivePeriod { get; set; } = DefaultKeepAlivePeriod;
}

internal sealed class QueueOptionsValidator : IValidateOptions<QueueOptions>
{
    public ValidateOptionsResult Validate(string? name, QueueOptions options)
    {
        if (options.KeepAlivePeriod < TimeSpan.FromSeconds(1) || options.KeepAlivePeriod > TimeSpan.FromDays(1))
            return ValidateOptionsResult.Fail($"{nameof(QueueOptions)}.{nameof(QueueOptions.KeepAlivePeriod)} must be between 1 second and 1 day (was {options.KeepAlivePeriod}).");
        if (options.SettingsCacheDuration < TimeSpan.Zero)
            return ValidateOptionsResult.Fail($"{nameof(QueueOptions)}.{nameof(QueueOptions.SettingsCacheDuration)} must not be negative (was {options.SettingsCacheDuration}).");
        try
        {
            options.Defaults.Validate();
            return ValidateOptionsResult.Success;
        }
        catch (ArgumentException e)
        {
            return ValidateOptionsResult.Fail($"{nameof(QueueOptions)}.{nameof(QueueOptions.Defaults)}: {e.Message}");
        }
    }
}
