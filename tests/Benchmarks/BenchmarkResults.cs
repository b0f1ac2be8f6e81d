namespace Orleans.Jobs.Benchmarks;

/// <summary>Everything one run of scripts/bench measured.</summary>
public sealed class BenchmarkResults
{
    public required BenchmarkEnvironment Environment { get; init; }
    public required string Command { get; init; }
    public int BurndownJobs { get; init; }
    public int LatencyJobs { get; init; }
    public int Concurrency { get; init; }
    public List<CeilingResult> Ceilings { get; init; } = [];
    public List<WorkloadResult> Workloads { get; init; } = [];
    public HistoryDecayResult? History { get; set; }
    public PipelineResults? Pipelines { get; set; }
    public StreamResults? Streams { get; set; }
    public JobSetResults? JobSets { get; set; }
    public ScalingResults? Scaling { get; set; }
}

/// <summary>The pipelines section: pipelines of ours and flows of peers, and a plain-job burn-down of as many jobs as they have steps.</summary>
public sealed class PipelineResults
{
    public int Pipelines { get; init; }
    public int StepsPerPipeline { get; init; }
    public List<WorkloadResult> Runs { get; init; } = [];
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
/// <summary>The jobset section: one jobset per size, each run by one worker process against one silo process (<see cref="JobSetMemory"/>).</summary>
public sealed class JobSetResults
{
    public List<JobSetRun> Runs { get; init; } = [];
    public List<string> Errors { get; init; } = [];
    public double? LoadAtStart { get; init; }
    public double? LoadAtEnd { get; set; }
}

/// <summary>One jobset: its timings and the memory samples of its worker and silo processes.</summary>
public sealed class JobSetRun
{
    public int Jobs { get; init; }
    public int Concurrency { get; init; }
    public double SampleSeconds { get; init; }

    /// <summary>From the worker's start of <c>JobSet.RunAsync</c> until its first job ran: every batch added.</summary>
    public double AddSeconds { get; set; }

    /// <summary>From the first job's run until the worker saw the set done.</summary>
    public double RunSeconds { get; set; }

    /// <summary>The whole run, the processes' start and stop included.</summary>
    public double WallSeconds { get; set; }

    /// <summary>VmHWM at the last sample: the highest resident memory of the process's life, between samples too.</summary>
    public long WorkerPeakKb { get; set; }
    public long SiloPeakKb { get; set; }

    public List<JobSetSample> Samples { get; init; } = [];

    /// <summary>Why the set was not done (it ran out of time); null when it was.</summary>
    public string? Error { get; set; }
}

/// <summary>Seconds since the worker started, both processes' VmRSS (KiB), ids the worker had walked (added), jobs it had run (done) and its managed heap.</summary>
public sealed record JobSetSample(double Seconds, long WorkerRssKb, long SiloRssKb, long Added, long Done, long WorkerHeapBytes);
