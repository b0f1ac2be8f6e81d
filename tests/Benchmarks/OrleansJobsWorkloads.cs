using System.Diagnostics;
using Orleans.Jobs.Grains.Interfaces;
using Orleans.Jobs.Silo.Hosting;
using Orleans.Jobs.Storage;
using Orleans.Jobs.Storage.PostgreSql;

namespace Orleans.Jobs.Benchmarks;

/// <summary>The peer workloads (tests/Benchmarks/peers/CONTRACT.md), run on Orleans.Jobs with PostgreSQL, on Orleans silos.</summary>
public sealed class OrleansJobsWorkloads(BenchmarkDatabase server, TextWriter log)
{
    private const string Queue = "bench";
    private const string Schema = "bench_orleans_jobs";
    private static readonly int SilosForConcurrency = int.TryParse(Environment.GetEnvironmentVariable("OJ_BENCH_SILOS"), out var n) ? n : 1;

    /// <summary>
    /// "fast" recovery: Orleans membership probes every 500 ms and one missed probe makes a suspicion (defaults here:
    /// <see cref="MembershipTiming"/>). Passed to tests/ClusterProcess, which applies its <c>Membership</c> section
    /// over Orleans.Jobs' timing.
    /// </summary>
    private static readonly string[] FastMembership = ["--Membership:ProbeTimeout=00:00:00.500", "--Membership:NumMissedProbesLimit=1"];

    /// <summary>
    /// Insert the jobs in batches of 1,000, ANALYZE, then drain them with silos of total <paramref name="concurrency"/>.
    /// "fast" adds a prefetch of 500 claimed jobs per silo (<c>Workers:Prefetch</c>), like graphile-worker's
    /// documented fast path (localQueue.size 500). Timed from the silo's workers starting (the silo lifecycle's
    /// Active stage; Orleans' own start before it — membership join, providers — is the process start of a peer's
    /// worker) until every job is recorded complete.
    /// </summary>
    public async Task<WorkloadResult> BurndownAsync(string settings, int jobs, int concurrency)
    {
        await ResetAsync();
        await using (var producer = await StoreAsync())
            await JobBatches.EnqueueAsync(producer, Queue, jobs);

        await server.ExecuteAsync(BenchmarkSql.AnalyzeJobs(Schema));
        var probe = new HandlerProbe();
        var deploy = Stopwatch.StartNew();
        await using var cluster = Cluster(probe, concurrency, prefetch: settings == "fast" ? 500 : 0);
        await cluster.DeployAsync();
        var deployed = deploy.Elapsed;
        await Waiting.UntilAsync(() => probe.Jobs >= jobs, TimeSpan.FromMinutes(10), $"{jobs} jobs to run");
        await Waiting.UntilAsync(async () => (await cluster.Store.GetCountsAsync(Queue, DateTimeOffset.UtcNow, CancellationToken.None)).Completed == jobs, TimeSpan.FromMinutes(10),
            $"{jobs} jobs to be recorded complete");
        var seconds = Stopwatch.GetElapsedTime(probe.WorkersStarted).TotalSeconds;
        log.WriteLine($"  orleans-jobs burndown ({settings}): {jobs / seconds:N0} jobs/s ({seconds:0.00} s from the workers starting; silo start to active {deployed.TotalSeconds:0.0} s, " +
                      $"{jobs / deploy.Elapsed.TotalSeconds:N0} jobs/s counted from there)");
        return WorkloadResult.Burndown("orleans-jobs", settings, jobs, concurrency, seconds);
    }

    /// <summary>Workers idle, then jobs enqueued one at a time 10 ms apart through the silo's grains; enqueue-to-handler-start percentiles.</summary>
    public async Task<WorkloadResult> LatencyAsync(int jobs, int concurrency)
    {
        await ResetAsync();
        var probe = new HandlerProbe(measureLatency: true);
        await using var cluster = Cluster(probe, concurrency, prefetch: 0);
        await cluster.DeployAsync();

        // Warm up (JIT, connection pools, the queue grain's activation) with jobs that are not counted, then let the workers go idle.
        var queue = cluster.Grains.GetGrain<IQueueGrain>(Queue);
        for (var i = 0; i < 50; i++) await queue.SendAsync(Stopwatch.GetTimestamp().ToString());
        await Waiting.UntilAsync(() => probe.Jobs >= 50, TimeSpan.FromMinutes(1), "the warm-up jobs to run");
        await Task.Delay(TimeSpan.FromSeconds(1));
        probe.Latencies.Clear();

        using var pace = new PeriodicTimer(TimeSpan.FromMilliseconds(10));
        for (var i = 0; i < jobs; i++)
        {
            await pace.WaitForNextTickAsync();
            await queue.SendAsync(Stopwatch.GetTimestamp().ToString());
        }

        await Waiting.UntilAsync(() => probe.Latencies.Count >= jobs, TimeSpan.FromMinutes(2), $"{jobs} jobs to start");
        var values = probe.Latencies.ToList();
        log.WriteLine($"  orleans-jobs latency: p50 {Percentiles.Of(values, 50):0.0} ms, p99 {Percentiles.Of(values, 99):0.0} ms");
        return WorkloadResult.Latency("orleans-jobs", "default", jobs, concurrency, values);
    }

    /// <summary>
    /// A silo process holding jobs (its handler hangs) is SIGKILLed while a second silo process of the same cluster
    /// runs; seconds from the kill until the killed silo's jobs start again there. Both use ADO.NET membership on the
    /// benchmark's PostgreSQL: the survivor's probes find the silo dead, membership declares it so, and the survivor's
    /// dead-silo recovery returns its jobs. "default": Orleans.Jobs' membership timing; "fast": <see cref="FastMembership"/>.
    /// </summary>
    public async Task<WorkloadResult> RecoveryAsync(string settings, int jobs, TimeSpan cap)
    {
        await ResetAsync();
        await using (await StoreAsync()) { } // migrates the schema: job tables and Orleans' membership tables
        await server.ExecuteAsync(BenchmarkSql.CreateExecutions(Schema));
        var cluster = $"bench-recovery-{settings}-{Guid.NewGuid():N}"[..40];
        string[] configuration = [$"--Cluster:ClusterId={cluster}", $"--Cluster:ServiceId={cluster}", .. settings == "fast" ? FastMembership : []];

        await using var doomed = SiloProcess.Start(server.ConnectionString, Schema, Queue, hang: true, configuration);
        var doomedId = await doomed.ReadyAsync(TimeSpan.FromMinutes(2));
        await using (var producer = await StoreAsync())
            await JobBatches.EnqueueAsync(producer, Queue, jobs, maxAttempts: 5);
        await Waiting.UntilAsync(async () => await server.ScalarAsync<long>(BenchmarkSql.CountExecutions(Schema)) >= Math.Min(jobs, 16), TimeSpan.FromMinutes(1),
            "the silo to be killed to start its jobs");

        await using var survivor = SiloProcess.Start(server.ConnectionString, Schema, Queue, hang: false, configuration);
        await survivor.ReadyAsync(TimeSpan.FromMinutes(2));
        var held = await server.ScalarAsync<long>(BenchmarkSql.CountRunningOf(Schema, doomedId));
        doomed.Kill();
        var killedAt = await server.ScalarAsync<DateTime>(BenchmarkSql.Now);

        double? Seconds(DateTime? at) => at is { } t ? (t - killedAt).TotalSeconds : null;
        var clock = Stopwatch.StartNew();
        (DateTime? First, DateTime? Last, long Count) rerun = (null, null, 0);
        while (clock.Elapsed < cap)
        {
            rerun = await server.RowAsync(BenchmarkSql.RerunsOf(Schema, doomedId), r => (r.IsDBNull(0) ? (DateTime?)null : r.GetDateTime(0), r.IsDBNull(1) ? (DateTime?)null : r.GetDateTime(1), r.GetInt64(2)));
            if (rerun.Count >= held) break;
            await Task.Delay(50);
        }

        var capped = rerun.Count < held;
        log.WriteLine($"  orleans-jobs recovery ({settings}): {held} jobs held; first rerun {Seconds(rerun.First):0.0} s, last {Seconds(rerun.Last):0.0} s");
        return WorkloadResult.Recovery("orleans-jobs", settings, jobs, (int)held, capped ? null : Seconds(rerun.First), capped ? null : Seconds(rerun.Last), capped ? cap.TotalSeconds : null,
            settings == "fast"
                ? "Orleans membership, ADO.NET table: ProbeTimeout 500 ms, 1 missed probe makes a suspicion; the survivor's vote declares the silo dead and its jobs return at once"
                : $"Orleans membership, ADO.NET table (Orleans.Jobs' timing): a probe every {MembershipTiming.ProbeTimeout.TotalSeconds:0} s, {MembershipTiming.MissedProbes} missed make a suspicion; the survivor's vote declares the silo dead and its jobs return at once (lease {QueueLimits.DefaultLeaseDuration.TotalSeconds:0} s as the backstop)");
    }

    private Task ResetAsync() => server.ExecuteAsync(BenchmarkSql.DropSchema(Schema));

    private async Task<PostgresJobStore> StoreAsync()
    {
        var store = new PostgresJobStore(new PostgresStoreOptions { ConnectionString = server.ConnectionString, Schema = Schema });
        await store.StartAsync(CancellationToken.None);
        return store;
    }

    private BenchmarkCluster Cluster(HandlerProbe probe, int concurrency, int prefetch) => new(SilosForConcurrency, Queue, probe, new Dictionary<string, string>
    {
        ["Store:ConnectionString"] = server.ConnectionString,
        ["Store:Schema"] = Schema,
        ["Workers:MaxConcurrency"] = (concurrency / SilosForConcurrency).ToString(),
        ["Workers:Prefetch"] = prefetch.ToString(),
    });
}
