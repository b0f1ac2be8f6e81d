using Microsoft.Extensions.Options;

namespace Orleans.Jobs.Grains.Pipelines;

/// <summary>Silo-wide options of pipeline grains (configuration section <c>Pipelines</c>).</summary>
public sealed class PipelineOptions
{
    /// <summary>Default of <see cref="ReconcilePeriod"/>.</summary>
    public static readonly TimeSpan DefaultReconcilePeriod = TimeSpan.FromSeconds(5);

    /// <summary>Default of <see cref="KeepAlivePeriod"/>: Orleans' default minimum reminder period.</summary>
    public static readonly TimeSpan DefaultKeepAlivePeriod = TimeSpan.FromMinutes(1);

    /// <summary>Default of <see cref="StepCheckAfter"/>.</summary>
    public static readonly TimeSpan DefaultStepCheckAfter = TimeSpan.FromSeconds(30);

    /// <summary>Default of <see cref="Retention"/> and <see cref="FinishedLogRetention"/>.</summary>
    public static readonly TimeSpan DefaultRetention = TimeSpan.FromDays(7);

    /// <summary>
    /// How often a running pipeline's grain checks on its steps (a grain timer): it queues again steps whose job
    /// never reached the store, and fails the pipeline when a step's job was dead-lettered without its worker
    /// saying so (the silo running its last attempt died).
    /// </summary>
    public TimeSpan ReconcilePeriod { get; set; } = DefaultReconcilePeriod;

    /// <summary>
    /// The period of the reminder that brings a running pipeline's grain back after the silo hosting it dies, even
    /// when nobody calls it. It must not be below Orleans' <c>ReminderOptions.MinimumReminderPeriod</c>.
    /// </summary>
    public TimeSpan KeepAlivePeriod { get; set; } = DefaultKeepAlivePeriod;

    /// <summary>How long a step may sit queued or running before the reconciler reads its job from the store.</summary>
    public TimeSpan StepCheckAfter { get; set; } = DefaultStepCheckAfter;

    /// <summary>How long a finished pipeline's state (status, steps, timings) is kept before it is deleted.</summary>
    public TimeSpan Retention { get; set; } = DefaultRetention;

    /// <summary>How long entries of the finished-pipelines log are kept: a reader away longer misses the older ones (and is told so).</summary>
    public TimeSpan FinishedLogRetention { get; set; } = DefaultRetention;
}

internal sealed class PipelineOptionsValidator : IValidateOptions<PipelineOptions>
{
    public ValidateOptionsResult Validate(string? name, PipelineOptions options) => new OptionsFailures(nameof(PipelineOptions))
        .CheckRange(options.ReconcilePeriod, TimeSpan.FromMilliseconds(100), TimeSpan.FromHours(1), nameof(PipelineOptions.ReconcilePeriod))
        .CheckRange(options.KeepAlivePeriod, TimeSpan.FromSeconds(1), TimeSpan.FromDays(1), nameof(PipelineOptions.KeepAlivePeriod))
        .CheckRange(options.StepCheckAfter, TimeSpan.Zero, TimeSpan.FromDays(1), nameof(PipelineOptions.StepCheckAfter))
        .CheckRange(options.Retention, TimeSpan.FromMinutes(1), TimeSpan.FromDays(3650), nameof(PipelineOptions.Retention))
        .CheckRange(options.FinishedLogRetention, TimeSpan.FromMinutes(1), TimeSpan.FromDays(3650), nameof(PipelineOptions.FinishedLogRetention))
        .Result;
}
