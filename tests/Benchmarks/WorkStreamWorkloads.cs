using System.Diagnostics;
using Orleans.Jobs.Client.WorkStreams;
using Orleans.Jobs.Grains.Interfaces;
using Orleans.Jobs.Grains.Interfaces.WorkStreams;
using Orleans.Jobs.Silo.Gateway;

namespace Orleans.Jobs.Benchmarks;

/// <summary>What the streams benchmark forks: posted code (this assembly, loaded by the silos from the bytes the client posts).</summary>
public static class BenchmarkForks
{
    /// <summary>A no-op fork.</summary>
    public static int Noop(int n) => n;
}

/// <summary>The streams section: forks through a work stream, and as many plain jobs, end to end from an Orleans client.</summary>
public sealed partial class OrleansJobsWorkloads
{
    /// <summary>Forks (and plain jobs) each client call carries: what a stage's <c>StageContext</c> sends at once.</summary>
    public const int StreamSendBatch = 500;

    private const int WarmUp = 20;
    private static readonly TimeSpan StreamRunLimit = TimeSpan.FromMinutes(10);

    /// <summary>
    /// <paramref name="forks"/> no-op forks (<see cref="BenchmarkForks.Noop"/>) through one work stream on silos of
    /// total <paramref name="concurrency"/> workers, on the in-memory store (<paramref name="postgres"/> false) or the
    /// benchmark's PostgreSQL. A <see cref="WorkStreamClient"/> on an Orleans client forks them from its startup stage;
    /// its one process stage gets every record. Timed from the client's <c>RunAsync</c> until that stage is called
    /// (every record in its result log), after a warm-up stream of a few forks (posted code loaded, JIT done).
    /// </summary>
    public async Task<WorkloadResult> StreamForksAsync(bool postgres, int forks, int concurrency)
    {
        await ResetAsync();
        double seconds;
        WorkCounters cost;
        await using (var cluster = Cluster(new HandlerProbe(), concurrency, prefetch: null, inMemory: !postgres))
        {
            await cluster.DeployAsync();
            var workersPerSilo = concurrency / SilosForConcurrency;
            await RunStreamAsync(cluster.Client, WarmUp, workersPerSilo);
            var before = await WorkCounters.ReadAsync(server);
            seconds = await RunStreamAsync(cluster.Client, forks, workersPerSilo);
            cost = await WorkCounters.ReadAsync(server) - before;
        }

        return await ReportAsync(WorkloadResult.Throughput("orleans-jobs", "stream-forks", StoreName(postgres), forks, concurrency, seconds, cost), postgres);
    }

    /// <summary>
    /// <paramref name="jobs"/> plain jobs with a no-op handler on silos set up as for <see cref="StreamForksAsync"/>:
    /// the Orleans client sends them through the queue grain in batches of <see cref="StreamSendBatch"/>, as a stage
    /// sends its forks. Timed from the first send until every job is recorded complete, after a warm-up of a few jobs.
    /// </summary>
    public async Task<WorkloadResult> PlainJobsAsync(bool postgres, int jobs, int concurrency)
    {
        await ResetAsync();
        var probe = new HandlerProbe();
        double seconds;
        WorkCounters cost;
        await using (var cluster = Cluster(probe, concurrency, prefetch: null, inMemory: !postgres))
        {
            await cluster.DeployAsync();
            var queue = cluster.Client.GetGrain<IQueueGrain>(Queue);
            await SendAndDrainAsync(cluster, queue, probe, WarmUp, WarmUp);
            var before = await WorkCounters.ReadAsync(server);
            var clock = Stopwatch.StartNew();
            await SendAndDrainAsync(cluster, queue, probe, jobs, WarmUp + jobs);
            seconds = clock.Elapsed.TotalSeconds;
            cost = await WorkCounters.ReadAsync(server) - before;
        }

        return await ReportAsync(WorkloadResult.Throughput("orleans-jobs", "plain-jobs", StoreName(postgres), jobs, concurrency, seconds, cost), postgres);
    }

    private static string StoreName(bool postgres) => postgres ? "postgresql" : "in-memory";

    private async Task<WorkloadResult> ReportAsync(WorkloadResult result, bool postgres)
    {
        log.WriteLine($"  orleans-jobs {result.Workload} ({result.Settings}): {result.JobsPerSecond:N0}/s ({result.Seconds:0.00} s; " +
                      $"{(postgres ? $"{result.WriteTransactions} write transactions, " : "")}{result.CpuSeconds:0.00} s CPU)");
        return postgres ? result with { RowWrites = await RowWritesAsync() } : result;
    }

    /// <summary>Runs one stream of <paramref name="forks"/> no-op forks to the end; returns the seconds until its stage had every record.</summary>
    private static async Task<double> RunStreamAsync(IClusterClient client, int forks, int workersPerSilo)
    {
        var clock = new Stopwatch();
        var (seconds, ready, errors) = (0.0, 0, 0);
        string? firstError = null;
        var stream = new WorkStreamClient(client, GatewayOptions.DevelopmentClusterKey, new WorkStreamClientOptions
        {
            Properties = new WorkStreamProperties { MaxWorkersPerNode = workersPerSilo, SpawnFrequency = WorkStreamRules.MaxSpawnFrequency },
            StallTimeout = TimeSpan.FromMinutes(2),
            Log = TextWriter.Null,
        })
            .Startup("start", async stage =>
            {
                for (var n = 0; n < forks; n++) await stage.ForkAsync(BenchmarkForks.Noop, n);
            })
            .Process("done", (_, readyRecords, errorRecords) =>
            {
                seconds = clock.Elapsed.TotalSeconds;
                (ready, errors, firstError) = (readyRecords.Count, errorRecords.Count, errorRecords.FirstOrDefault()?.Error?.Error);
                return Task.CompletedTask;
            });
        using var limit = new CancellationTokenSource(StreamRunLimit);
        clock.Start();
        await stream.RunAsync(limit.Token);
        if (ready != forks)
            throw new InvalidOperationException($"The stage received {ready} ready records of {forks} forks and {errors} errors{(firstError is null ? "" : $" (the first: {firstError})")}.");
        return seconds;
    }

    /// <summary>Sends <paramref name="jobs"/> plain jobs in batches, then waits until the handler ran and the store recorded <paramref name="completedInAll"/> of them complete.</summary>
    private static async Task SendAndDrainAsync(BenchmarkCluster cluster, IQueueGrain queue, HandlerProbe probe, int jobs, int completedInAll)
    {
        for (var sent = 0; sent < jobs; sent += StreamSendBatch)
            await queue.SendBatchAsync([.. Enumerable.Range(sent, Math.Min(StreamSendBatch, jobs - sent)).Select(_ => new JobMessage("{}"))]);
        await Waiting.UntilAsync(() => probe.Jobs >= completedInAll, StreamRunLimit, $"{completedInAll} jobs to run");
        await Waiting.UntilAsync(async () => (await cluster.Store.GetCountsAsync(Queue, DateTimeOffset.UtcNow, CancellationToken.None)).Completed >= completedInAll, StreamRunLimit,
            $"{completedInAll} jobs to be recorded complete");
    }
}
