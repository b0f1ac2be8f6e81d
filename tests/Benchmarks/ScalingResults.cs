namespace Orleans.Jobs.Benchmarks;

/// <summary>
/// The scaling section (<see cref="ScalingBenchmark"/>): burn-downs on 1, 2 and 4 silo processes, sends from 1, 4 and 16
/// client processes, and one silo process's resident memory, idle and while a backlog sits in the store and drains.
/// </summary>
public sealed class ScalingResults
{
    public List<SiloBurndown> Burndowns { get; init; } = [];
    public List<ClientSends> Sends { get; init; } = [];
    public BacklogMemory? Backlog { get; set; }

    /// <summary>
    /// An Orleans silo with nothing of Orleans.Jobs in it (tests/EmptySilo), idle, measured as <see cref="Backlog"/>'s idle
    /// figure is, just before it: the floor any silo on Orleans starts from. Only its idle fields are set.
    /// </summary>
    public BacklogMemory? EmptySilo { get; set; }

    /// <summary>The parts this run measured (<see cref="ScalingBenchmark.AllParts"/>); the report keeps the last page's figures of the others.</summary>
    public List<string> Parts { get; init; } = [.. ScalingBenchmark.AllParts];

    /// <summary>Parts that produced no figure, and why.</summary>
    public List<string> Errors { get; init; } = [];

    /// <summary>The machine's one-minute load average when the section started and when it ended.</summary>
    public double? LoadAtStart { get; init; }
    public double? LoadAtEnd { get; set; }
}

/// <summary>One run of a growing count (of silo processes, of client processes): its count, its rate and the load around it.</summary>
public interface IScalingRun
{
    int Count { get; }
    double JobsPerSecond { get; }
    double? LoadAtStart { get; }
    double? LoadAtEnd { get; }
}

/// <summary>
/// <paramref name="Jobs"/> no-op jobs drained by <paramref name="Silos"/> silo processes of <paramref name="Workers"/>
/// workers in all, in <paramref name="Seconds"/> from the moment they were let go until the last was recorded complete.
/// </summary>
public sealed record SiloBurndown(int Silos, int Workers, int Jobs, double Seconds, double? LoadAtStart, double? LoadAtEnd) : IScalingRun
{
    public int Count => Silos;
    public double JobsPerSecond => Jobs / Seconds;
}

/// <summary>
/// <paramref name="Clients"/> client processes sending one job per call for about <paramref name="Seconds"/> each:
/// <paramref name="Sent"/> jobs in all, at <paramref name="JobsPerSecond"/> (the sum of each client's rate). While they
/// sent, the database had on average <paramref name="ActiveBackends"/> statements running, <paramref name="NotifyLockWaits"/>
/// of them waiting on the lock a NOTIFY takes at commit.
/// </summary>
public sealed record ClientSends(int Clients, long Sent, double Seconds, double JobsPerSecond, double? LoadAtStart, double? LoadAtEnd, double ActiveBackends, double NotifyLockWaits)
    : IScalingRun
{
    public int Count => Clients;
}

/// <summary>One silo process's resident memory: settled after start-up, then while a backlog is added, sits and drains.</summary>
public sealed class BacklogMemory
{
    public int Jobs { get; init; }
    public double SampleSeconds { get; init; }

    /// <summary>VmRSS once start-up settled (the median of the settled window), and what it was made of (KiB).</summary>
    public long IdleRssKb { get; set; }
    public long IdleAnonymousKb { get; set; }
    public long IdleFilesKb { get; set; }
    public long IdleSharedKb { get; set; }

    /// <summary>From READY until the window of samples counted as settled ended; false when it never settled in time.</summary>
    public double IdleSettleSeconds { get; set; }
    public bool IdleSettled { get; set; }

    /// <summary>Adding the backlog (the silo's workers held), and draining it once they were let go.</summary>
    public double AddSeconds { get; set; }
    public double DrainSeconds { get; set; }

    /// <summary>VmHWM at the last sample: the highest resident memory of the process's life, between samples too.</summary>
    public long PeakKb { get; set; }

    public double? LoadAtStart { get; init; }
    public double? LoadAtEnd { get; set; }

    public List<BacklogSample> Samples { get; init; } = [];

    /// <summary>Why the run stopped before the backlog drained; null when it drained.</summary>
    public string? Error { get; set; }
}

/// <summary>Seconds since the silo said READY, its VmRSS (KiB), jobs of the backlog added and done by then.</summary>
public sealed record BacklogSample(double Seconds, long RssKb, long Added, long Done);
