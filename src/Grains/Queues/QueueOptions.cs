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
}

internal sealed class QueueOptionsValidator : IValidateOptions<QueueOptions>
{
    public ValidateOptionsResult Validate(string? name, QueueOptions options)
    {
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
