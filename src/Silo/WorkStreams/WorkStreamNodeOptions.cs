using Microsoft.Extensions.Options;
using Orleans.Jobs.Grains;

namespace Orleans.Jobs.Silo.WorkStreams;

/// <summary>The Node role of a silo (configuration section <c>WorkStreamNode</c>).</summary>
public sealed class WorkStreamNodeOptions
{
    /// <summary>False to run no work-stream workers on this silo (it still hosts stream grains).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>How often the node reads the directory of active streams (a timer).</summary>
    public TimeSpan DirectoryPollInterval { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>The longest one claim waits for a fork before the worker looks at its idle time again.</summary>
    public TimeSpan ClaimWait { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How long a graceful stop waits for running forks before cancelling them (they run again elsewhere).</summary>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The lease a fork's run holds (renewed while it runs); null for the queue's.</summary>
    public TimeSpan? LeaseDuration { get; set; }
}

internal sealed class WorkStreamNodeOptionsValidator : IValidateOptions<WorkStreamNodeOptions>
{
    public ValidateOptionsResult Validate(string? name, WorkStreamNodeOptions options) => new OptionsFailures(nameof(WorkStreamNodeOptions))
        .CheckRange(options.DirectoryPollInterval, TimeSpan.FromMilliseconds(10), TimeSpan.FromMinutes(10), nameof(options.DirectoryPollInterval))
        .CheckRange(options.ClaimWait, TimeSpan.FromMilliseconds(10), TimeSpan.FromMinutes(5), nameof(options.ClaimWait))
        .CheckRange(options.ShutdownTimeout, TimeSpan.Zero, TimeSpan.FromHours(1), nameof(options.ShutdownTimeout))
        .CheckRange(options.LeaseDuration ?? TimeSpan.FromSeconds(1) /* null: the queue's, nothing to check */, TimeSpan.FromSeconds(1), TimeSpan.FromDays(1), nameof(options.LeaseDuration))
        .Result;
}
