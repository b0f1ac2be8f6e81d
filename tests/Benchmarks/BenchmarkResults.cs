namespace Orleans.Jobs.Benchmarks;

/// <summary>Everything one run of scripts/bench measured.</summary>
public sealed class BenchmarkResults
{
    public required BenchmarkEnvironment Environment { get; init; }
    public required string Command { get; init; }
    public int BurndownJobs { get; init; }
    public int LatencyJobs { get; init; }
    public int Concurrency { get; init; }
    public List<CeilingResult> Ceilings { get; } = [];
    public List<WorkloadResult> Workloads { get; } = [];
    public HistoryDecayResult? History { get; set; }
    public PipelineResults? Pipelines { get; set; }
    public StreamResults? Streams { get; set; }
}

/// <summary>The pipelines section: pipelines of ours and flows of peers, and a plain-job burn-down of as many jobs as they have steps.</summary>
public sealed class PipelineResults
{
    public int Pipelines { get; init; }
    public int StepsPerPipeline { get; init; }
    public List<WorkloadResult> Runs { get; } = [];
    public WorkloadResult? PlainJobs { get; set; }

    /// <summary>The machine's one-minute load average when the section started and when it ended.</summary>
    public double? LoadAtStart { get; init; }
    public double? LoadAtEnd { get; set; }
}

/// <summary>The streams section: no-op forks through a work stream and as many plain jobs, on each store.</summary>
public sealed class StreamResults
{
    public int Forks { get; init; }
    public int Workers { get; init; }

    /// <summary>Per store: the forks' run, then the plain jobs' run on silos set up alike.</summary>
    public List<WorkloadResult> Runs { get; } = [];

    /// <summary>The machine's one-minute load average when the section started and when it ended.</summary>
    public double? LoadAtStart { get; init; }
    public double? LoadAtEnd { get; set; }
}
