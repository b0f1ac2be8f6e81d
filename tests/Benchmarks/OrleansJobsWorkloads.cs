using System.Diagnostics;
using Npgsql;
using Orleans.Jobs.Client.Pipelines;
using Orleans.Jobs.Grains.Interfaces;
using Orleans.Jobs.Grains.Interfaces.Pipelines;
using Orleans.Jobs.Silo.Hosting;
using Orleans.Jobs.Storage;
using Orleans.Jobs.Storage.PostgreSql;

namespace Orleans.Jobs.Benchmarks;

/// <summary>The peer workloads (tests/Benchmarks/peers/CONTRACT.md), run on Orleans.Jobs with PostgreSQL, on Orleans silos.</summary>
public sealed partial class OrleansJobsWorkloads(BenchmarkDatabase server, TextWriter log)
{
    private const string Queue = "bench";
    private const string Schema = "bench_orleans_jobs";

    /// <summary>The jobset section's own schema: a run of another section (which resets <see cref="Schema"/>) on the same server leaves a long jobset alone.</summary>
    private const string JobSetSchema = "bench_jobset";

    /// <summary>Pipelines started at once: what tests/ClusterProcess's pipeline client does, and the BullMQ driver's flows too.</summary>
    public const int StartsInFlight = 50;

    /// <summary>"fast": <c>Workers:Prefetch</c>, the documented override of the adaptive look-ahead.</summary>
    public const int FastPrefetch = 2000;

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
    /// worker) until every job is recorded complete. <paramref name="pipelines"/> registers the benchmark's pipeline
    /// workers too, so the silos are those of <see cref="PipelinesAsync"/>.
    /// </summary>
    public async Task<WorkloadResult> BurndownAsync(string settings, int jobs, int concurrency, bool pipelines = false)
    {
        await ResetAsync();
        TimeSpan inserted;
        await using (var producer = await StoreAsync())
        {
            var insert = Stopwatch.StartNew();
            await JobBatches.EnqueueAsync(producer, Queue, jobs);
            inserted = insert.Elapsed;
        }

        await server.ExecuteAsync(BenchmarkSql.AnalyzeJobs(Schema));
        var probe = new HandlerProbe();
        var before = await WorkCounters.ReadAsync(server);
        var deploy = Stopwatch.StartNew();
        TimeSpan deployed;
        WorkCounters after;
        double seconds;
        await using (var cluster = Cluster(probe, concurrency, prefetch: settings == "fast" ? FastPrefetch : null, pipelines))
        {
            await cluster.DeployAsync();
            deployed = deploy.Elapsed;
            await Waiting.UntilAsync(() => probe.Jobs >= jobs, TimeSpan.FromMinutes(10), $"{jobs} jobs to run");
            // Polled with a cheap query (counting the archive every 5 ms cost the server more than the drain), then checked once.
            await Waiting.UntilAsync(async () => !await server.ScalarAsync<bool>(BenchmarkSql.QueueHasJobs(Schema, Queue)), TimeSpan.FromMinutes(10),
                $"{jobs} jobs to leave the hot table");
            seconds = Stopwatch.GetElapsedTime(probe.WorkersStarted).TotalSeconds;
            after = await WorkCounters.ReadAsync(server);
            var completed = (await cluster.Store.GetCountsAsync(Queue, DateTimeOffset.UtcNow, CancellationToken.None)).Completed;
            if (completed != jobs) throw new InvalidOperationException($"{completed} of {jobs} jobs were recorded complete.");
        }

        // The server's counters include the silo's start (a few transactions); this process's CPU counts from the workers' start.
        var cost = (after - before) with { CpuSeconds = after.CpuSeconds - probe.CpuAtWorkersStart };
        var jitMethods = System.Runtime.JitInfo.GetCompiledMethodCount() - probe.JitAtWorkersStart.Methods;
        var jitTime = System.Runtime.JitInfo.GetCompilationTime() - probe.JitAtWorkersStart.Time;
        log.WriteLine($"  orleans-jobs burndown ({settings}): {jobs / seconds:N0} jobs/s, inserted at {jobs / inserted.TotalSeconds:N0} jobs/s ({seconds:0.00} s from the workers starting; silo start to active {deployed.TotalSeconds:0.0} s, {probe.JitSettleSeconds:0.0} s of it for the JIT to settle, " +
                      $"{jobs / deploy.Elapsed.TotalSeconds:N0} jobs/s counted from there; {cost.WriteTransactions} write transactions, {cost.CpuSeconds:0.00} s CPU, of it {jitTime.TotalSeconds:0.00} s compiling {jitMethods:N0} methods)");
        return WorkloadResult.Burndown("orleans-jobs", settings, jobs, concurrency, seconds, cost) with { RowWrites = await RowWritesAsync(), InsertSeconds = inserted.TotalSeconds };
    }

    /// <summary>
    /// <paramref name="pipelines"/> pipelines of <paramref name="shape"/> (no work per step) on silos set up as for
    /// the default burn-down, with the PostgreSQL pipeline store in the job store's schema. An Orleans client starts
    /// them through <see cref="PipelineManager"/>, <see cref="StartsInFlight"/> at a time, then follows them with
    /// <see cref="PipelineManager.UpdateAsync"/>: timed from the first start until the manager has seen every one
    /// finish. Every pipeline must succeed with the right results saved.
    /// </summary>
    public async Task<WorkloadResult> PipelinesAsync(PipelineShape shape, int pipelines, int concurrency)
    {
        await ResetAsync();
        double seconds;
        WorkCounters cost;
        await using (var cluster = Cluster(new HandlerProbe(), concurrency, prefetch: null, pipelines: true))
        {
            await cluster.DeployAsync();
            var directory = cluster.Client.GetGrain<IPipelineWorkerDirectoryGrain>(0);
            await Waiting.UntilAsync(async () => shape.Workers.All((await directory.GetWorkersAsync()).Contains), TimeSpan.FromMinutes(1), "the silos to register the pipeline workers");

            var manager = new PipelineManager(cluster.Client);
            var all = Enumerable.Range(0, pipelines).Select(n => shape.Create(n, $"bench-{n}")).ToList();
            using var deadline = new CancellationTokenSource(TimeSpan.FromMinutes(10));
            var before = await WorkCounters.ReadAsync(server);
            var clock = Stopwatch.StartNew();
            foreach (var chunk in all.Chunk(StartsInFlight)) await Task.WhenAll(chunk.Select(p => manager.StartAsync(p, deadline.Token)));
            while (manager.InFlight > 0) await manager.UpdateAsync(TimeSpan.FromSeconds(1), deadline.Token);
            seconds = clock.Elapsed.TotalSeconds;
            cost = await WorkCounters.ReadAsync(server) - before;

            var failed = all.Count(p => p.FinalState != PipelineState.Succeeded);
            var correct = await server.ScalarAsync<long>(shape.CountCorrect(Schema));
            if (failed > 0 || correct != pipelines)
                throw new InvalidOperationException($"{failed} of {pipelines} pipelines did not succeed; {correct} saved the right results.");
        }

        log.WriteLine($"  orleans-jobs {shape.Workload}: {pipelines / seconds:N0} pipelines/s, {pipelines * shape.Steps / seconds:N0} steps/s ({seconds:0.00} s; " +
                      $"{cost.WriteTransactions} write transactions, {cost.CpuSeconds:0.00} s CPU)");
        return WorkloadResult.PipelineRun("orleans-jobs", shape.Workload, "default", pipelines, shape.Steps, concurrency, seconds, cost) with { RowWrites = await RowWritesAsync() };
    }

    /// <summary>Workers idle, then jobs enqueued one at a time 10 ms apart through the silo's grains; enqueue-to-handler-start percentiles.</summary>
    public async Task<WorkloadResult> LatencyAsync(int jobs, int concurrency)
    {
        await ResetAsync();
        var probe = new HandlerProbe(measureLatency: true);
        await using var cluster = Cluster(probe, concurrency, prefetch: null);
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

        await using var doomed = BenchmarkProcess.StartSilo(server.ConnectionString, Schema, Queue, hang: true, configuration);
        var doomedId = await doomed.ReadyAsync(TimeSpan.FromMinutes(2));
        await using (var producer = await StoreAsync())
            await JobBatches.EnqueueAsync(producer, Queue, jobs, maxAttempts: 5);
        await Waiting.UntilAsync(async () => await server.ScalarAsync<long>(BenchmarkSql.CountExecutions(Schema)) >= Math.Min(jobs, 16), TimeSpan.FromMinutes(1),
            "the silo to be killed to start its jobs");

        await using var survivor = BenchmarkProcess.StartSilo(server.ConnectionString, Schema, Queue, hang: false, configuration);
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

    /// <summary>
    /// One jobset of <paramref name="jobs"/> no-op jobs in a fresh schema, run by one worker process of
    /// <paramref name="concurrency"/> slots against one silo process, their memory sampled every <paramref name="sampleEvery"/>
    /// (<see cref="JobSetMemory"/>).
    /// </summary>
    public async Task<JobSetRun> JobSetAsync(int jobs, int concurrency, TimeSpan sampleEvery, TimeSpan cap)
    {
        await ResetAsync(JobSetSchema);
        await using (await StoreAsync(JobSetSchema)) { } // migrates the schema: job tables, Orleans' membership and grain state tables
        var run = await new JobSetMemory(server.ConnectionString, JobSetSchema, log).RunAsync(jobs, concurrency, sampleEvery, cap);
        if (run.Error is not null)
        {
            log.WriteLine($"  orleans-jobs jobset of {jobs:N0}: {run.Error}");
            return run;
        }

        log.WriteLine($"  orleans-jobs jobset of {jobs:N0}: added at {jobs / run.AddSeconds:N0} jobs/s, run at {jobs / run.RunSeconds:N0} jobs/s; " +
                      $"peak RSS worker {run.WorkerPeakKb / 1024.0:N0} MiB, silo {run.SiloPeakKb / 1024.0:N0} MiB ({run.WallSeconds:0} s wall)");
        return run;
    }

    private Task ResetAsync(string schema = Schema) => server.ExecuteAsync(BenchmarkSql.DropSchema(schema));

    /// <summary>
    /// Rows inserted, updated and deleted per table of the schema since it was created; null when they cannot be read
    /// in time (the run's figures stand without them). Read once the silos' connections have closed: a server process
    /// reports its table statistics when it ends (when idle, only seconds later).
    /// </summary>
    private async Task<Dictionary<string, TableRowWrites>?> RowWritesAsync()
    {
        NpgsqlConnection.ClearAllPools();
        try
        {
            await Waiting.UntilAsync(async () => await server.ScalarAsync<long>(BenchmarkSql.OtherClientConnections) == 0, TimeSpan.FromSeconds(30),
                "the silos' connections to close");
        }
        catch (TimeoutException e)
        {
            log.WriteLine($"  rows written per table left out: {e.Message}");
            return null;
        }

        var tables = await server.RowsAsync(BenchmarkSql.TableRowWrites(Schema), r => (Table: r.GetString(0), Writes: new TableRowWrites(r.GetInt64(1), r.GetInt64(2), r.GetInt64(3))));
        return tables.ToDictionary(t => t.Table, t => t.Writes);
    }

    private async Task<PostgresJobStore> StoreAsync(string schema = Schema)
    {
        var store = new PostgresJobStore(new PostgresStoreOptions { ConnectionString = server.ConnectionString, Schema = schema });
        await store.StartAsync(CancellationToken.None);
        return store;
    }

    /// <summary>
    /// The benchmark's silos: on the benchmark's PostgreSQL, or with <paramref name="inMemory"/> on the in-memory store;
    /// <paramref name="prefetch"/> null leaves <c>Workers:Prefetch</c> unset (the silo sizes its look-ahead itself).
    /// </summary>
    private BenchmarkCluster Cluster(HandlerProbe probe, int concurrency, int? prefetch, bool pipelines = false, bool inMemory = false)
    {
        var configuration = new Dictionary<string, string>
        {
            ["Workers:MaxConcurrency"] = (concurrency / SilosForConcurrency).ToString(),
        };
        if (prefetch is { } fixedPrefetch) configuration["Workers:Prefetch"] = fixedPrefetch.ToString();
        if (!inMemory)
        {
            configuration["Store:ConnectionString"] = server.ConnectionString;
            configuration["Store:Schema"] = Schema;
        }

        return new BenchmarkCluster(SilosForConcurrency, Queue, probe, configuration, pipelines);
    }
}
