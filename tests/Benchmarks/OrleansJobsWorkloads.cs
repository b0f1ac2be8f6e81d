using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Jobs.Grains.Interfaces;
using Orleans.Jobs.Runtime.Jobs;
using Orleans.Jobs.Runtime.Storage.PostgreSql;
using Orleans.Jobs.Silo.Hosting;
using Orleans.Jobs.Silo.Testing;
using Orleans.Jobs.Silo.Workers;

namespace Orleans.Jobs.Benchmarks;

/// <summary>The peer workloads (tests/Benchmarks/peers/CONTRACT.md), run on Orleans.Jobs with PostgreSQL.</summary>
public sealed class OrleansJobsWorkloads(BenchmarkDatabase server, TextWriter log)
{
    private const string Queue = "bench";
    private const string Schema = "bench_orleans_jobs";
    private static readonly int SilosForConcurrency = int.TryParse(Environment.GetEnvironmentVariable("OJ_BENCH_SILOS"), out var n) ? n : 1;

    /// <summary>
    /// Insert the jobs in batches of 1,000, ANALYZE, then drain them with silos of total <paramref name="concurrency"/>.
    /// "fast" adds a prefetch of 500 claimed jobs per silo (<see cref="WorkerOptions.Prefetch"/>), like graphile-worker's
    /// documented fast path (localQueue.size 500).
    /// </summary>
    public async Task<WorkloadResult> BurndownAsync(string settings, int jobs, int concurrency)
    {
        var database = await ResetAsync();
        await using (var producer = await StoreAsync(database))
        {
            for (var sent = 0; sent < jobs; sent += 1000)
                await producer.EnqueueAsync(Queue, Enumerable.Range(0, Math.Min(1000, jobs - sent)).Select(_ => new NewJob("{}", 0, null, false, 3)).ToList(), DateTimeOffset.UtcNow, CancellationToken.None);
        }

        await server.ExecuteAsync($"analyze {Schema}.jobs");
        var done = 0;
        var clock = Stopwatch.StartNew();
        await using var cluster = await StartClusterAsync(database, concurrency, (_, _) =>
        {
            Interlocked.Increment(ref done);
            return Task.FromResult<string?>(null);
        }, prefetch: settings == "fast" ? 500 : 0);
        await WaitUntilAsync(() => Volatile.Read(ref done) >= jobs, TimeSpan.FromMinutes(10));
        await WaitUntilAsync(async () => (await cluster.Store.GetCountsAsync(Queue, DateTimeOffset.UtcNow, CancellationToken.None)).Completed == jobs, TimeSpan.FromMinutes(1));
        clock.Stop();
        log.WriteLine($"  orleans-jobs burndown ({settings}): {jobs / clock.Elapsed.TotalSeconds:N0} jobs/s");
        return WorkloadResult.Burndown("orleans-jobs", settings, jobs, concurrency, clock.Elapsed.TotalSeconds);
    }

    /// <summary>Workers idle, then jobs enqueued one at a time 10 ms apart; enqueue-to-handler-start percentiles.</summary>
    public async Task<WorkloadResult> LatencyAsync(int jobs, int concurrency)
    {
        var database = await ResetAsync();
        var latencies = new ConcurrentBag<double>();
        var seen = 0;
        await using var cluster = await StartClusterAsync(database, concurrency, (job, _) =>
        {
            var sentAt = long.Parse(job.Payload);
            latencies.Add(Stopwatch.GetElapsedTime(sentAt).TotalMilliseconds);
            Interlocked.Increment(ref seen);
            return Task.FromResult<string?>(null);
        });

        // Warm up (JIT, connection pools) with jobs that are not counted, then let the workers go idle.
        var queue = cluster.Client.GetGrain<IQueueGrain>(Queue);
        for (var i = 0; i < 50; i++) await queue.SendAsync(Stopwatch.GetTimestamp().ToString());
        await WaitUntilAsync(() => Volatile.Read(ref seen) >= 50, TimeSpan.FromMinutes(1));
        latencies.Clear();
        await Task.Delay(TimeSpan.FromSeconds(1));

        using var pace = new PeriodicTimer(TimeSpan.FromMilliseconds(10));
        for (var i = 0; i < jobs; i++)
        {
            await pace.WaitForNextTickAsync();
            await queue.SendAsync(Stopwatch.GetTimestamp().ToString());
        }

        await WaitUntilAsync(() => latencies.Count >= jobs, TimeSpan.FromMinutes(2));
        var values = latencies.ToList();
        log.WriteLine($"  orleans-jobs latency: p50 {Percentiles.Of(values, 50):0.0} ms, p99 {Percentiles.Of(values, 99):0.0} ms");
        return WorkloadResult.Latency("orleans-jobs", "default", jobs, concurrency, values);
    }

    /// <summary>
    /// A silo process holding jobs is SIGKILLed while another silo process runs; seconds until its jobs run again.
    /// "default" uses the default membership settings; "fast" the shortest the validator allows per period.
    /// </summary>
    public async Task<WorkloadResult> RecoveryAsync(string settings, int jobs, TimeSpan cap)
    {
        var database = await ResetAsync();
        await using (var store = await StoreAsync(database)) { }
        await server.ExecuteAsync($"create table {Schema}.proof_executions (job_id bigint not null, silo_id text not null, attempt int not null, started_at timestamptz not null)");
        string[] configuration = settings == "fast"
            ? ["--Membership:HeartbeatPeriod=00:00:00.250", "--Membership:DeathTimeout=00:00:01"]
            : [];

        using var doomed = SiloProcess.Start(database, Schema, Queue, hang: true, configuration);
        var doomedId = await doomed.ReadyAsync();
        await using (var producer = await StoreAsync(database))
            await producer.EnqueueAsync(Queue, Enumerable.Range(0, jobs).Select(_ => new NewJob("{}", 0, null, false, 5)).ToList(), DateTimeOffset.UtcNow, CancellationToken.None);
        await WaitUntilAsync(async () => await server.ScalarAsync<long>($"select count(*) from {Schema}.proof_executions") >= Math.Min(jobs, 16), TimeSpan.FromMinutes(1));

        using var survivor = SiloProcess.Start(database, Schema, Queue, hang: false, configuration);
        await survivor.ReadyAsync();
        var held = await server.ScalarAsync<long>($"select count(*) from {Schema}.jobs where state = 1 and owner = '{doomedId}'");
        doomed.Kill();
        var killedAt = await server.ScalarAsync<DateTime>("select clock_timestamp()");

        double? Seconds(DateTime? at) => at is { } t ? (t - killedAt).TotalSeconds : null;
        var rerunSql = $"""
            select min(e.started_at), max(e.started_at), count(*) from {Schema}.proof_executions e
            where e.silo_id <> '{doomedId}' and e.job_id in (select job_id from {Schema}.proof_executions where silo_id = '{doomedId}')
            """;
        var clock = Stopwatch.StartNew();
        (DateTime? First, DateTime? Last, long Count) rerun = (null, null, 0);
        while (clock.Elapsed < cap)
        {
            rerun = await RerunsAsync(rerunSql);
            if (rerun.Count >= held) break;
            await Task.Delay(50);
        }

        var capped = rerun.Count < held;
        log.WriteLine($"  orleans-jobs recovery ({settings}): {held} jobs held; first rerun {Seconds(rerun.First):0.0} s, last {Seconds(rerun.Last):0.0} s");
        return WorkloadResult.Recovery("orleans-jobs", settings, jobs, (int)held, capped ? null : Seconds(rerun.First), capped ? null : Seconds(rerun.Last), capped ? cap.TotalSeconds : null,
            settings == "fast" ? "membership: heartbeat 250 ms, death timeout 1 s" : "membership: heartbeat 2 s, death timeout 10 s (defaults); lease 30 s");
    }

    private async Task<(DateTime?, DateTime?, long)> RerunsAsync(string sql)
    {
        await using var connection = new Npgsql.NpgsqlConnection(server.ConnectionString);
        await connection.OpenAsync();
        await using var command = new Npgsql.NpgsqlCommand(sql, connection);
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        return (reader.IsDBNull(0) ? null : reader.GetDateTime(0), reader.IsDBNull(1) ? null : reader.GetDateTime(1), reader.GetInt64(2));
    }

    private async Task<string> ResetAsync()
    {
        await server.ExecuteAsync($"drop schema if exists {Schema} cascade");
        return server.ConnectionString;
    }

    private static async Task<PostgresClusterStore> StoreAsync(string connection)
    {
        var store = new PostgresClusterStore(new PostgresStoreOptions { ConnectionString = connection, Schema = Schema });
        await store.StartAsync(CancellationToken.None);
        return store;
    }

    private static async Task<TestCluster> StartClusterAsync(string connection, int concurrency, Func<JobContext, CancellationToken, Task<string?>> handler, int prefetch = 0)
    {
        var options = new PostgresStoreOptions { ConnectionString = connection, Schema = Schema };
        var builder = new TestClusterBuilder(SilosForConcurrency).ConfigureSilo(s =>
        {
            s.Services.Configure<WorkerOptions>(o => { o.MaxConcurrency = concurrency / SilosForConcurrency; o.Prefetch = prefetch; });
            s.AddJobHandler(Queue, handler);
        });
        builder.Options.StorePerSilo = () => new PostgresClusterStore(options);
        var cluster = builder.Build();
        await cluster.DeployAsync();
        return cluster;
    }

    private static async Task WaitUntilAsync(Func<bool> condition, TimeSpan limit) => await WaitUntilAsync(() => Task.FromResult(condition()), limit);

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan limit)
    {
        var clock = Stopwatch.StartNew();
        while (!await condition())
        {
            if (clock.Elapsed > limit) throw new TimeoutException($"Benchmark condition not reached within {limit}.");
            await Task.Delay(10);
        }
    }
}

/// <summary>A silo in its own process (tests/ClusterProcess).</summary>
public sealed class SiloProcess : IDisposable
{
    private readonly Process _process;

    private SiloProcess(Process process) => _process = process;

    public static SiloProcess Start(string connection, string schema, string queue, bool hang, string[] configuration)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardInput = true, RedirectStandardOutput = true };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Orleans.Jobs.ClusterProcess.dll"));
        foreach (var argument in new[] { "silo", connection, schema, queue }.Concat(hang ? ["--hang"] : []).Concat(configuration))
            start.ArgumentList.Add(argument);
        return new SiloProcess(Process.Start(start)!);
    }

    /// <summary>Waits for the READY line; returns the silo id.</summary>
    public async Task<string> ReadyAsync()
    {
        var line = await _process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromMinutes(1)) ?? "";
        var parts = line.Split(' ');
        return parts.Length == 3 && parts[0] == "READY" ? parts[1] : throw new InvalidOperationException($"The silo process said '{line}' instead of READY.");
    }

    public void Kill() => _process.Kill(); // SIGKILL

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.StandardInput.Close();
            if (!_process.WaitForExit(TimeSpan.FromSeconds(30))) _process.Kill();
        }

        _process.Dispose();
    }
}
