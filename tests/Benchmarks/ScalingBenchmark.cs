using System.Diagnostics;
using System.Globalization;
using Orleans.Jobs.Silo.Workers;
using Orleans.Jobs.Storage.PostgreSql;

namespace Orleans.Jobs.Benchmarks;

/// <summary>
/// How cost grows (issue 12): a burn-down on 1, 2 and 4 silo processes, sends through the queue grain from 1, 4 and 16
/// client processes, and one silo process's resident memory once start-up settles and while a backlog sits in the store
/// and drains. Every silo is tests/ClusterProcess <c>silo --noop</c> (the stock host with a no-op handler that waits for
/// a GO line) run on the stock silo's runtimeconfig.json, at default settings, on the benchmark's PostgreSQL.
/// </summary>
public sealed class ScalingBenchmark(BenchmarkDatabase server, TextWriter log)
{
    /// <summary>The section's own schema, reset before each part.</summary>
    private const string Schema = "bench_scaling";

    private const string Queue = "scaling";

    /// <summary>Silo processes of the burn-downs, and client processes of the sends.</summary>
    public static readonly int[] SiloCounts = [1, 2, 4];
    public static readonly int[] ClientCounts = [1, 4, 16];

    /// <summary>Settled: the last <see cref="SettleWindow"/> samples lie within this fraction of their highest.</summary>
    public const double SettleSpread = 0.01;
    public const int SettleWindow = 20;

    /// <summary>Samples taken while the whole backlog sits in the store, before the silo may run it.</summary>
    private const int SittingSamples = 10;

    private static readonly TimeSpan SampleEvery = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan StartDeadline = TimeSpan.FromMinutes(3);
    private static readonly TimeSpan SettleDeadline = TimeSpan.FromMinutes(3);
    private static readonly TimeSpan DrainDeadline = TimeSpan.FromHours(2); // a 1,000,000-job backlog drained at ~600 jobs/s on a loaded machine
    private static readonly TimeSpan PollEvery = TimeSpan.FromMilliseconds(250);

    /// <summary>The section's parts, as <c>OJ_BENCH_SCALING_PARTS</c> names them.</summary>
    public const string BurndownsPart = "burndowns", SendsPart = "sends", BacklogPart = "backlog";

    public static readonly string[] AllParts = [BurndownsPart, SendsPart, BacklogPart];

    /// <summary>
    /// Runs the named <paramref name="parts"/> (of <see cref="AllParts"/>); a part that fails is named in
    /// <see cref="ScalingResults.Errors"/> and the others still run.
    /// </summary>
    public async Task<ScalingResults> RunAsync(IReadOnlyCollection<string> parts, int burndownJobs, TimeSpan sendFor, int backlogJobs)
    {
        var results = new ScalingResults { LoadAtStart = BenchmarkEnvironment.LoadAverage(), Parts = [.. AllParts.Where(parts.Contains)] };
        if (parts.Contains(BurndownsPart))
        {
            foreach (var silos in SiloCounts)
                await PartAsync(results, $"burn-down on {silos} silo processes", async () => results.Burndowns.Add(await BurndownAsync(silos, burndownJobs)));
        }

        if (parts.Contains(SendsPart)) await PartAsync(results, "sends from client processes", () => SendsAsync(sendFor, results.Sends));
        if (parts.Contains(BacklogPart)) await PartAsync(results, MemoryPartName(backlogJobs), () => BacklogAsync(backlogJobs, results));
        results.LoadAtEnd = BenchmarkEnvironment.LoadAverage();
        return results;
    }

    /// <summary>The memory part's name: with no backlog (<c>OJ_BENCH_BACKLOG_JOBS=0</c>) it measures the idle silo alone, in a few minutes.</summary>
    private static string MemoryPartName(int backlogJobs) => backlogJobs == 0 ? "idle memory" : $"memory under a {backlogJobs:N0}-job backlog";

    private async Task PartAsync(ScalingResults results, string part, Func<Task> run)
    {
        try
        {
            await run();
        }
        catch (Exception e)
        {
            log.WriteLine($"  scaling: {part} FAILED: {e}");
            results.Errors.Add($"{part}: {e.GetType().Name}: {e.Message.Split('\n')[0]}");
        }
    }

    /// <summary>
    /// <paramref name="jobs"/> jobs inserted in batches and analyzed, then <paramref name="silos"/> silo processes started
    /// one after another (each joins the cluster the one before formed) and let go together: timed from the GO until the
    /// last job is recorded complete, by the store's clock. Until the GO each silo's workers hold the jobs they claimed.
    /// </summary>
    private async Task<SiloBurndown> BurndownAsync(int silos, int jobs)
    {
        await ResetAsync();
        await using (var store = await StoreAsync())
            await JobBatches.EnqueueAsync(store, Queue, jobs);
        await server.ExecuteAsync(BenchmarkSql.AnalyzeJobs(Schema));

        var processes = await StartSilosAsync(silos, NewClusterId());
        try
        {
            var loadAtStart = BenchmarkEnvironment.LoadAverage();
            var go = await server.ScalarAsync<DateTime>(BenchmarkSql.Now);
            await Task.WhenAll(processes.Select(p => p.WriteLineAsync("GO")));
            await DrainedAsync(jobs);
            var seconds = (await server.ScalarAsync<DateTime>(BenchmarkSql.LastFinishedAt(Schema, Queue)) - go).TotalSeconds;
            var run = new SiloBurndown(silos, silos * WorkerOptions.DefaultMaxConcurrency, jobs, seconds, loadAtStart, BenchmarkEnvironment.LoadAverage());
            log.WriteLine($"  scaling burn-down, {silos} silo processes: {run.JobsPerSecond:N0} jobs/s ({seconds:0.00} s; load {run.LoadAtStart:0.0} -> {run.LoadAtEnd:0.0})");
            return run;
        }
        finally
        {
            await StopAllAsync(processes);
        }
    }

    /// <summary>
    /// One silo process (its workers held, so the sends are measured alone), then for each client count that many client
    /// processes: each says READY after one uncounted send, all get GO at once and send one job per call, awaiting each,
    /// for <paramref name="sendFor"/>. The rate is the sum of each client's sent / seconds.
    /// </summary>
    private async Task SendsAsync(TimeSpan sendFor, List<ClientSends> runs)
    {
        await ResetAsync();
        await using (await StoreAsync()) { } // migrates the schema: job tables, Orleans' membership and grain state tables
        var cluster = NewClusterId();
        var silos = await StartSilosAsync(1, cluster);
        try
        {
            foreach (var clients in ClientCounts)
            {
                var processes = Enumerable.Range(0, clients).Select(_ => BenchmarkProcess.Start(
                    ["send-bench", Queue, sendFor.TotalSeconds.ToString(CultureInfo.InvariantCulture), .. ClusterIds(cluster, silos[0].GatewayPort)])).ToList();
                try
                {
                    await Task.WhenAll(processes.Select(p => p.ReadyAsync(StartDeadline)));
                    var loadAtStart = BenchmarkEnvironment.LoadAverage();
                    using var sending = new CancellationTokenSource();
                    var waits = DatabaseWaitsAsync(sending.Token);
                    await Task.WhenAll(processes.Select(p => p.WriteLineAsync("GO")));
                    var sent = await Task.WhenAll(processes.Select(p => SentAsync(p, sendFor + StartDeadline)));
                    await sending.CancelAsync();
                    var (active, notifyLock) = await waits;
                    var run = new ClientSends(clients, sent.Sum(s => s.Count), sent.Max(s => s.Seconds), sent.Sum(s => s.Count / s.Seconds), loadAtStart, BenchmarkEnvironment.LoadAverage(),
                        active, notifyLock);
                    runs.Add(run);
                    log.WriteLine($"  scaling sends, {clients} client processes: {run.JobsPerSecond:N0} jobs/s ({run.Sent:N0} sent; {active:0.0} statements running, " +
                                  $"{notifyLock:0.0} of them waiting on the NOTIFY lock; load {run.LoadAtStart:0.0} -> {run.LoadAtEnd:0.0})");
                }
                finally
                {
                    await StopAllAsync(processes);
                }
            }
        }
        finally
        {
            await StopAllAsync(silos);
        }
    }

    /// <summary>Until cancelled, every 100 ms: statements running in the database and those waiting on the NOTIFY lock; their means.</summary>
    private async Task<(double Active, double NotifyLock)> DatabaseWaitsAsync(CancellationToken cancellationToken)
    {
        var samples = new List<(long Active, long NotifyLock)>();
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(100));
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken))
                samples.Add(await server.RowAsync(BenchmarkSql.ActiveAndNotifyLockWaits, r => (r.GetInt64(0), r.GetInt64(1))));
        }
        catch (OperationCanceledException)
        {
        }

        return samples.Count == 0 ? (0, 0) : (samples.Average(x => x.Active), samples.Average(x => x.NotifyLock));
    }

    /// <summary>A client's <c>SENT &lt;count&gt; &lt;seconds&gt;</c> line.</summary>
    private static async Task<(long Count, double Seconds)> SentAsync(BenchmarkProcess client, TimeSpan deadline)
    {
        using var timeout = new CancellationTokenSource(deadline);
        while (await client.ReadLineAsync(timeout.Token) is { } line)
        {
            var parts = line.Split(' ');
            if (parts is ["SENT", var count, var seconds])
                return (long.Parse(count, CultureInfo.InvariantCulture), double.Parse(seconds, CultureInfo.InvariantCulture));
        }

        throw new InvalidOperationException($"A client process ended without saying what it sent. stderr:{Environment.NewLine}{client.Errors}");
    }

    /// <summary>
    /// One silo process, its VmRSS sampled every second from READY: first until start-up settles (the idle figure), then
    /// while <paramref name="jobs"/> jobs are added in batches with its workers held, while the whole backlog sits for
    /// <see cref="SittingSamples"/> samples, and while it drains once the workers are let go.
    /// </summary>
    private async Task BacklogAsync(int jobs, ScalingResults results)
    {
        results.EmptySilo = await EmptySiloIdleAsync();
        await ResetAsync();
        await using (await StoreAsync()) { }
        var silo = (await StartSilosAsync(1, NewClusterId()))[0];
        var run = results.Backlog = new BacklogMemory { Jobs = jobs, SampleSeconds = SampleEvery.TotalSeconds, LoadAtStart = BenchmarkEnvironment.LoadAverage() };
        var progress = new BacklogProgress();
        var clock = Stopwatch.StartNew();
        using var stopSampling = new CancellationTokenSource();
        var sampling = SampleAsync(silo, run, progress, clock, stopSampling.Token);
        try
        {
            await SettleAsync(silo, run, clock);
            log.WriteLine($"  scaling idle silo: {run.IdleRssKb / 1024.0:N0} MiB ({(run.IdleSettled ? "settled" : "not settled")} after {run.IdleSettleSeconds:0} s; " +
                          $"anonymous {run.IdleAnonymousKb / 1024.0:N0}, files {run.IdleFilesKb / 1024.0:N0}, shared {run.IdleSharedKb / 1024.0:N0} MiB)");

            if (jobs == 0) return; // the idle figure only

            var adding = Stopwatch.StartNew();
            await using (var store = await StoreAsync())
            {
                // Chunks of ten batches, so the samples can say how much of the backlog was in the store.
                for (var added = 0; added < jobs; added += 10 * JobBatches.BatchSize)
                {
                    var chunk = Math.Min(10 * JobBatches.BatchSize, jobs - added);
                    await JobBatches.EnqueueAsync(store, Queue, chunk);
                    Interlocked.Add(ref progress.Added, chunk);
                }
            }

            run.AddSeconds = adding.Elapsed.TotalSeconds;
            await server.ExecuteAsync(BenchmarkSql.AnalyzeJobs(Schema));
            var firstId = await server.ScalarAsync<long>(BenchmarkSql.FirstJobId(Schema, Queue));
            var sitting = run.Samples.Count + SittingSamples;
            await Waiting.UntilAsync(() => Volatile.Read(ref progress.SampleCount) >= sitting, TimeSpan.FromMinutes(1), "the samples of the backlog sitting", SampleEvery);

            log.WriteLine($"  scaling backlog of {jobs:N0} added in {run.AddSeconds:0} s; draining");
            var draining = Stopwatch.StartNew();
            await silo.WriteLineAsync("GO");
            await DrainedAsync(jobs, async () =>
                Interlocked.Exchange(ref progress.Done, Math.Max(0, await server.ScalarAsync<long>(BenchmarkSql.HighestFinishedId(Schema)) - firstId + 1)));
            run.DrainSeconds = draining.Elapsed.TotalSeconds;
            Interlocked.Exchange(ref progress.Done, jobs);
            var last = Volatile.Read(ref progress.SampleCount) + 1;
            await Waiting.UntilAsync(() => Volatile.Read(ref progress.SampleCount) >= last, TimeSpan.FromMinutes(1), "a sample of the drained silo", SampleEvery);
        }
        catch (Exception e)
        {
            run.Error = $"stopped at {Interlocked.Read(ref progress.Added):N0} added, {Interlocked.Read(ref progress.Done):N0} done ({e.GetType().Name}: {e.Message.Split('\n')[0]}); the samples until then are shown";
            throw;
        }
        finally
        {
            await stopSampling.CancelAsync();
            await sampling;
            run.LoadAtEnd = BenchmarkEnvironment.LoadAverage();
            await StopAllAsync([silo]);
        }

        log.WriteLine($"  scaling backlog drained in {run.DrainSeconds:0} s ({jobs / run.DrainSeconds:N0} jobs/s); peak RSS {run.PeakKb / 1024.0:N0} MiB");
    }

    /// <summary>An Orleans silo with nothing of ours (tests/EmptySilo), sampled from READY until its memory settles, as ours is.</summary>
    private async Task<BacklogMemory> EmptySiloIdleAsync()
    {
        var silo = BenchmarkProcess.StartEmptySilo();
        var run = new BacklogMemory { Jobs = 0, SampleSeconds = SampleEvery.TotalSeconds, LoadAtStart = BenchmarkEnvironment.LoadAverage() };
        using var stopSampling = new CancellationTokenSource();
        Task? sampling = null;
        try
        {
            await silo.ReadyAsync(StartDeadline);
            sampling = SampleAsync(silo, run, new BacklogProgress(), Stopwatch.StartNew(), stopSampling.Token);
            await SettleAsync(silo, run, Stopwatch.StartNew());
        }
        finally
        {
            await stopSampling.CancelAsync();
            if (sampling is not null) await sampling;
            run.LoadAtEnd = BenchmarkEnvironment.LoadAverage();
            await StopAllAsync([silo]);
        }

        log.WriteLine($"  scaling empty Orleans silo: {run.IdleRssKb / 1024.0:N0} MiB ({(run.IdleSettled ? "settled" : "not settled")} after {run.IdleSettleSeconds:0} s; " +
                      $"anonymous {run.IdleAnonymousKb / 1024.0:N0}, files {run.IdleFilesKb / 1024.0:N0}, shared {run.IdleSharedKb / 1024.0:N0} MiB)");
        return run;
    }

    /// <summary>Samples every second until cancelled; the done count is whatever the drain last read.</summary>
    private static async Task SampleAsync(BenchmarkProcess silo, BacklogMemory run, BacklogProgress progress, Stopwatch clock, CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(SampleEvery);
        try
        {
            do
            {
                var (rss, peak) = ProcessStatus.Memory(silo.Id);
                if (rss is null) return; // gone
                lock (run.Samples)
                {
                    run.Samples.Add(new BacklogSample(clock.Elapsed.TotalSeconds, rss.Value, Interlocked.Read(ref progress.Added), Interlocked.Read(ref progress.Done)));
                    run.PeakKb = peak ?? run.PeakKb;
                }

                Interlocked.Increment(ref progress.SampleCount);
            }
            while (await timer.WaitForNextTickAsync(cancellationToken));
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>Waits, bounded, until the last <see cref="SettleWindow"/> samples lie within <see cref="SettleSpread"/>; the idle figure is their median.</summary>
    private static async Task SettleAsync(BenchmarkProcess silo, BacklogMemory run, Stopwatch clock)
    {
        List<BacklogSample> Window()
        {
            lock (run.Samples) return run.Samples.TakeLast(SettleWindow).ToList();
        }

        try
        {
            await Waiting.UntilAsync(() =>
            {
                var window = Window();
                return window.Count == SettleWindow && window.Min(s => s.RssKb) >= (1 - SettleSpread) * window.Max(s => s.RssKb);
            }, SettleDeadline, "the idle silo's memory to settle", SampleEvery);
            run.IdleSettled = true;
        }
        catch (TimeoutException)
        {
            run.IdleSettled = false; // the figure is then the median of the last window, reported as not settled
        }

        run.IdleSettleSeconds = clock.Elapsed.TotalSeconds;
        var settled = Window().Select(s => s.RssKb).Order().ToList();
        run.IdleRssKb = settled[settled.Count / 2];
        var parts = ProcessStatus.ResidentParts(silo.Id);
        (run.IdleAnonymousKb, run.IdleFilesKb, run.IdleSharedKb) = (parts.Anonymous ?? 0, parts.Files ?? 0, parts.Shared ?? 0);
    }

    /// <summary>Waits, bounded, until no job of the queue is left in the hot table and every one is recorded complete.</summary>
    private async Task DrainedAsync(int jobs, Func<Task>? eachPoll = null)
    {
        await Waiting.UntilAsync(async () =>
        {
            if (eachPoll is not null) await eachPoll();
            return !await server.ScalarAsync<bool>(BenchmarkSql.AnyJobLeft(Schema, Queue));
        }, DrainDeadline, $"{jobs:N0} jobs to drain", PollEvery);
        var completed = await server.ScalarAsync<long>(BenchmarkSql.CountCompleted(Schema, Queue));
        if (completed < jobs) throw new InvalidOperationException($"Only {completed:N0} of {jobs:N0} jobs were recorded complete.");
    }

    /// <summary>Silo processes of one new cluster, started one at a time: each joins the cluster the one before it formed.</summary>
    private async Task<List<BenchmarkProcess>> StartSilosAsync(int count, string cluster)
    {
        var silos = new List<BenchmarkProcess>();
        try
        {
            for (var i = 0; i < count; i++)
            {
                var silo = BenchmarkProcess.StartSilo(server.ConnectionString, Schema, Queue, ["--noop"], ClusterIds(cluster, gatewayPort: null), stockSiloRuntime: true);
                silos.Add(silo);
                await silo.ReadyAsync(StartDeadline);
            }

            return silos;
        }
        catch
        {
            await StopAllAsync(silos);
            throw;
        }
    }

    /// <summary>A new cluster (and service) id, so no part's silos meet another's in the membership table.</summary>
    private static string NewClusterId() => $"bench-scaling-{Guid.NewGuid():N}"[..40];

    /// <summary>A cluster's ids, and the gateway a client connects to.</summary>
    private static string[] ClusterIds(string cluster, int? gatewayPort) =>
        [$"--Cluster:ClusterId={cluster}", $"--Cluster:ServiceId={cluster}", .. gatewayPort is { } port ? [$"--Cluster:Gateways:0=127.0.0.1:{port}"] : Array.Empty<string>()];

    /// <summary>Stops the processes together (closing stdin also lets held workers go, so none waits out its shutdown timeout).</summary>
    private static Task StopAllAsync(IEnumerable<BenchmarkProcess> processes) => Task.WhenAll(processes.Select(p => p.DisposeAsync().AsTask()));

    private Task ResetAsync() => server.ExecuteAsync(BenchmarkSql.DropSchema(Schema));

    private async Task<PostgresJobStore> StoreAsync()
    {
        var store = new PostgresJobStore(new PostgresStoreOptions { ConnectionString = server.ConnectionString, Schema = Schema });
        await store.StartAsync(CancellationToken.None);
        return store;
    }

    /// <summary>What the sampler reads while the backlog is added and drained.</summary>
    private sealed class BacklogProgress
    {
        public long Added;
        public long Done;
        public int SampleCount;
    }
}
