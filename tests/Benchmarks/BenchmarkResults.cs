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
}
