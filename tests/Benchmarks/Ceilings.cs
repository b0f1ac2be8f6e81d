using System.Diagnostics;
using System.Text.RegularExpressions;
using System.Threading.Channels;
using Npgsql;
using Orleans.Jobs.Storage;
using Orleans.Jobs.Storage.InMemory;

namespace Orleans.Jobs.Benchmarks;

/// <summary>The limits of this machine, measured in the same run: what no job system on it can beat.</summary>
public sealed partial class Ceilings(BenchmarkDatabase server, TextWriter log)
{
    /// <summary>
    /// pgbench running a SKIP LOCKED claim-and-update script at the given total concurrency: the one-commit-per-job
    /// limit (1 row per transaction) and the batched limit (100 rows per transaction). Rows/s are counted from the
    /// table afterwards, so an exhausted table cannot inflate them.
    /// </summary>
    public async Task<CeilingResult> PgbenchAsync(int rowsPerTransaction, int concurrency, int seconds)
    {
        var connection = await server.EnsureDatabaseAsync("bench_ceiling");
        var db = new BenchmarkDatabase(connection);
        var rows = rowsPerTransaction == 1 ? 300_000 : 3_000_000;
        foreach (var sql in BenchmarkSql.PgbenchSetup) await db.ExecuteAsync(sql);
        await db.ExecuteAsync(BenchmarkSql.PgbenchFill(rows));
        foreach (var sql in BenchmarkSql.PgbenchIndex) await db.ExecuteAsync(sql);

        var script = Path.GetTempFileName();
        await File.WriteAllTextAsync(script, BenchmarkSql.PgbenchClaim(rowsPerTransaction));
        var builder = new NpgsqlConnectionStringBuilder(connection);
        var start = new ProcessStartInfo(PgbenchPath()) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { "-n", "-c", concurrency.ToString(), "-j", "2", "-T", seconds.ToString(), "-f", script, "-h", builder.Host!, "-p", builder.Port.ToString(), "-U", builder.Username!, "bench_ceiling" })
            start.ArgumentList.Add(argument);
        using var pgbench = Process.Start(start)!;
        var output = await pgbench.StandardOutput.ReadToEndAsync();
        await pgbench.WaitForExitAsync();
        File.Delete(script);
        if (pgbench.ExitCode != 0) throw new InvalidOperationException($"pgbench failed: {await pgbench.StandardError.ReadToEndAsync()}");

        var claimed = await db.ScalarAsync<long>(BenchmarkSql.PgbenchClaimed);
        var tps = double.Parse(TpsPattern().Match(output).Groups[1].Value);
        var result = new CeilingResult($"pgbench SKIP LOCKED claim, {rowsPerTransaction} row{(rowsPerTransaction == 1 ? "" : "s")} per commit", claimed / (double)seconds,
            $"{concurrency} clients, {seconds} s, {tps:N0} transactions/s, {claimed:N0} rows claimed");
        log.WriteLine($"  {result.Name}: {result.PerSecond:N0} rows/s ({result.Detail})");
        await db.ExecuteAsync(BenchmarkSql.PgbenchDrop);
        return result;
    }

    /// <summary>The name of the Channels ceiling, the in-process limit the embedded figures are compared with.</summary>
    public const string ChannelsName = "System.Threading.Channels, fill then drain";

    /// <summary>The name of the in-memory store's figure (the target's row finds it by this).</summary>
    public const string InMemoryStoreName = "Orleans.Jobs in-memory store (claim 50, complete each)";

    /// <summary>The name of the in-memory silos' figure.</summary>
    public const string InMemorySilosName = "Orleans.Jobs in-memory silos (2 Orleans silos, workers, grains)";

    /// <summary>
    /// Timed runs of each in-process figure, after one untimed warm-up run (JIT tiers, thread pool, GC heap sizes):
    /// the median is reported, so one run that another process's burst slowed down does not decide it.
    /// </summary>
    private const int TimedRuns = 3;

    /// <summary>The in-process limit: a plain Channel with the burn-down's shape (fill, then drain with N consumers).</summary>
    public Task<CeilingResult> ChannelsAsync(int jobs, int concurrency) =>
        MedianAsync(ChannelsName, $"{jobs:N0} items, {concurrency} consumers", async () =>
        {
            var channel = Channel.CreateUnbounded<int>();
            for (var i = 0; i < jobs; i++) channel.Writer.TryWrite(i);
            channel.Writer.Complete();
            var done = 0;
            var clock = Stopwatch.StartNew();
            await Task.WhenAll(Enumerable.Range(0, concurrency).Select(_ => Task.Run(async () =>
            {
                await foreach (var item in channel.Reader.ReadAllAsync()) Interlocked.Increment(ref done);
            })));
            return (jobs, clock.Elapsed);
        });

    /// <summary>The in-memory store itself, same shape: workers claim batches of 50 with a lease and complete each job.</summary>
    public Task<CeilingResult> InMemoryStoreAsync(int jobs, int concurrency) =>
        MedianAsync(InMemoryStoreName, $"{jobs:N0} jobs, {concurrency} workers", async () =>
        {
            var store = new InMemoryJobStore();
            await JobBatches.EnqueueAsync(store, "bench", jobs);
            var clock = Stopwatch.StartNew();
            await Task.WhenAll(Enumerable.Range(0, concurrency).Select(worker => Task.Run(async () =>
            {
                var claim = new JobClaim(50, TimeSpan.FromMinutes(5), $"w{worker}");
                while ((await store.ClaimAsync("bench", claim, DateTimeOffset.UtcNow, CancellationToken.None)) is { Count: > 0 } batch)
                    foreach (var job in batch) await store.CompleteAsync("bench", job.JobId, job.LeaseToken, null, DateTimeOffset.UtcNow, CancellationToken.None);
            })));
            return (jobs, clock.Elapsed);
        });

    /// <summary>
    /// The whole embedded stack: two Orleans silos (TestingHost, in this process) on the in-memory store, with workers,
    /// the queue grain and leases. The silos start first; each run then puts its jobs into their store in batches of
    /// 1,000 and is timed from the first batch until its last job is recorded complete. Finished jobs stay in the
    /// archive, so later runs drain beside the earlier runs' history.
    /// </summary>
    public async Task<CeilingResult> InMemorySilosAsync(int jobs, int concurrency)
    {
        const int silos = 2;
        var probe = new HandlerProbe();
        await using var cluster = new BenchmarkCluster(silos, "bench", probe, new Dictionary<string, string> { ["Workers:MaxConcurrency"] = (concurrency / silos).ToString() });
        await cluster.DeployAsync();
        var store = InMemoryJobStores.ForService(cluster.ServiceId);
        long completed = 0;
        return await MedianAsync(InMemorySilosName, $"{jobs:N0} jobs, {concurrency} in flight, default worker settings", async () =>
        {
            completed += jobs;
            var clock = Stopwatch.StartNew();
            await JobBatches.EnqueueAsync(store, "bench", jobs);
            await Waiting.UntilAsync(async () => (await store.GetCountsAsync("bench", DateTimeOffset.UtcNow, CancellationToken.None)).Completed >= completed, TimeSpan.FromMinutes(10),
                $"{jobs} jobs to complete on the in-memory silos");
            return (jobs, clock.Elapsed);
        });
    }

    /// <summary>
    /// Runs <paramref name="run"/> once untimed, then <see cref="TimedRuns"/> times; reports the median rate, each
    /// run's rate, this process's CPU time per item over the timed runs (filling the queue included, also where the
    /// clock does not count it) and the machine's load when they started.
    /// </summary>
    private async Task<CeilingResult> MedianAsync(string name, string how, Func<Task<(int Items, TimeSpan Elapsed)>> run)
    {
        await run();
        var load = BenchmarkEnvironment.LoadAverage();
        var cpu = WorkCounters.ProcessCpuSeconds();
        var rates = new List<double>();
        var items = 0;
        for (var i = 0; i < TimedRuns; i++)
        {
            var (count, elapsed) = await run();
            rates.Add(count / elapsed.TotalSeconds);
            items += count;
        }

        var cpuPerItem = (WorkCounters.ProcessCpuSeconds() - cpu) * 1e6 / items;
        return Report(new CeilingResult(name, Percentiles.Of(rates, 50),
            $"{how}; median of {TimedRuns} runs ({string.Join(", ", rates.Select(r => r.ToString("N0")))}/s) after a warm-up run, " +
            $"{cpuPerItem:0.00} µs of CPU per item, filling included{(load is { } l ? $", load average {l:0.0}" : "")}"));
    }

    private CeilingResult Report(CeilingResult result)
    {
        log.WriteLine($"  {result.Name}: {result.PerSecond:N0}/s ({result.Detail})");
        return result;
    }

    private static string PgbenchPath() =>
        Directory.GetDirectories("/usr/lib/postgresql").OrderByDescending(d => int.TryParse(Path.GetFileName(d), out var v) ? v : 0)
            .Select(d => Path.Combine(d, "bin", "pgbench")).FirstOrDefault(File.Exists)
        ?? throw new InvalidOperationException("pgbench not found under /usr/lib/postgresql/*/bin (it ships with the postgresql package).");

    [GeneratedRegex(@"tps = ([0-9.]+)")]
    private static partial Regex TpsPattern();
}

public sealed record CeilingResult(string Name, double PerSecond, string Detail);
