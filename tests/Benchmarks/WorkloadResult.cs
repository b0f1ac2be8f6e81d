namespace Orleans.Jobs.Benchmarks;

/// <summary>One system's result on one workload, in the shape the peer drivers print (CONTRACT.md).</summary>
public sealed record WorkloadResult
{
    public required string System { get; init; }
    public string? Version { get; init; }
    public required string Workload { get; init; }
    public required string Settings { get; init; }
    public int Jobs { get; init; }
    public int Concurrency { get; init; }
    public double? Seconds { get; init; }
    public double? JobsPerSecond { get; init; }
    public double? P50Ms { get; init; }
    public double? P99Ms { get; init; }
    public double? MaxMs { get; init; }
    public int? KilledJobs { get; init; }
    public double? FirstRerunSeconds { get; init; }
    public double? LastRerunSeconds { get; init; }
    public double? CappedAt { get; init; }
    public string? Documented { get; init; }
    public string? Error { get; init; }

    public static WorkloadResult Burndown(string system, string settings, int jobs, int concurrency, double seconds) => new()
    {
        System = system, Workload = "burndown", Settings = settings, Jobs = jobs, Concurrency = concurrency, Seconds = seconds, JobsPerSecond = jobs / seconds,
    };

    public static WorkloadResult Latency(string system, string settings, int jobs, int concurrency, IReadOnlyList<double> latencies) => new()
    {
        System = system, Workload = "latency", Settings = settings, Jobs = jobs, Concurrency = concurrency,
        P50Ms = Percentiles.Of(latencies, 50), P99Ms = Percentiles.Of(latencies, 99), MaxMs = latencies.Max(),
    };

    public static WorkloadResult Recovery(string system, string settings, int jobs, int killed, double? first, double? last, double? cappedAt, string documented) => new()
    {
        System = system, Workload = "recovery", Settings = settings, Jobs = jobs, KilledJobs = killed,
        FirstRerunSeconds = first, LastRerunSeconds = last, CappedAt = cappedAt, Documented = documented,
    };
}
