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

    /// <summary>Pipelines (BullMQ: flows) run; <see cref="Jobs"/> counts their steps.</summary>
    public int? Pipelines { get; init; }
    public double? PipelinesPerSecond { get; init; }

    /// <summary>Burn-down: seconds to insert its jobs with the system's bulk API, in batches of 1,000, before the drain.</summary>
    public double? InsertSeconds { get; init; }

    /// <summary>Burn-down: jobs inserted per second with the system's bulk API.</summary>
    public double? InsertJobsPerSecond => InsertSeconds is > 0 ? Jobs / InsertSeconds : null;

    /// <summary>Transaction ids the server handed out during the timed run: one per write transaction, of every client.</summary>
    public long? WriteTransactions { get; init; }

    /// <summary>WAL the server wrote during the timed run.</summary>
    public long? WalBytes { get; init; }

    /// <summary>CPU time of the process that ran the system (Orleans.Jobs: silos and client; a peer: its driver) during the timed run.</summary>
    public double? CpuSeconds { get; init; }

    /// <summary>Rows written per table of Orleans.Jobs' schema by the whole run (set-up included), from the server's table statistics.</summary>
    public Dictionary<string, TableRowWrites>? RowWrites { get; init; }

    public static WorkloadResult Burndown(string system, string settings, int jobs, int concurrency, double seconds, WorkCounters cost) =>
        Throughput(system, "burndown", settings, jobs, concurrency, seconds, cost);

    /// <summary><paramref name="jobs"/> items of <paramref name="workload"/> done in <paramref name="seconds"/>, at what cost.</summary>
    public static WorkloadResult Throughput(string system, string workload, string settings, int jobs, int concurrency, double seconds, WorkCounters cost) => new()
    {
        System = system, Workload = workload, Settings = settings, Jobs = jobs, Concurrency = concurrency, Seconds = seconds, JobsPerSecond = jobs / seconds,
        WriteTransactions = cost.WriteTransactions, WalBytes = cost.WalBytes, CpuSeconds = cost.CpuSeconds,
    };

    public static WorkloadResult PipelineRun(string system, string workload, string settings, int pipelines, int steps, int concurrency, double seconds, WorkCounters cost) => new()
    {
        System = system, Workload = workload, Settings = settings, Jobs = pipelines * steps, Pipelines = pipelines, Concurrency = concurrency, Seconds = seconds,
        PipelinesPerSecond = pipelines / seconds, JobsPerSecond = pipelines * steps / seconds,
        WriteTransactions = cost.WriteTransactions, WalBytes = cost.WalBytes, CpuSeconds = cost.CpuSeconds,
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

/// <summary>Rows a run inserted, updated and deleted in one table.</summary>
public sealed record TableRowWrites(long Inserted, long Updated, long Deleted);
