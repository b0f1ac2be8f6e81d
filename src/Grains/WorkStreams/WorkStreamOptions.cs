using Microsoft.Extensions.Options;

namespace Orleans.Jobs.Grains.WorkStreams;

/// <summary>Silo-wide options of work-stream grains (configuration section <c>WorkStreams</c>).</summary>
public sealed class WorkStreamOptions
{
    /// <summary>
    /// How often a listed stream's grain checks itself (a grain timer): it leaves the nodes' directory once idle past
    /// its timeout, and gives an error record to every fork whose runs all died (dead-lettered).
    /// </summary>
    public TimeSpan CheckPeriod { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>The period of the reminder that brings a listed stream's grain back after its silo dies. At least Orleans' minimum reminder period.</summary>
    public TimeSpan KeepAlivePeriod { get; set; } = TimeSpan.FromMinutes(1);
}

internal sealed class WorkStreamOptionsValidator : IValidateOptions<WorkStreamOptions>
{
    public ValidateOptionsResult Validate(string? name, WorkStreamOptions options) => new OptionsFailures(nameof(WorkStreamOptions))
        .CheckRange(options.CheckPeriod, TimeSpan.FromMilliseconds(50), TimeSpan.FromHours(1), nameof(WorkStreamOptions.CheckPeriod))
        .CheckRange(options.KeepAlivePeriod, TimeSpan.FromSeconds(1), TimeSpan.FromDays(1), nameof(WorkStreamOptions.KeepAlivePeriod))
        .Result;
}
