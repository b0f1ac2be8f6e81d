using System.Diagnostics;
using System.Text.RegularExpressions;
using System.Threading.Channels;
using Npgsql;
using Orleans.Jobs.Runtime.Jobs;
using Orleans.Jobs.Runtime.Storage.InMemory;
using Orleans.Jobs.Silo.Hosting;
using Orleans.Jobs.Silo.Testing;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Jobs.Silo.Workers;

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
        await db.ExecuteAsync("drop table if exists pgb_jobs");
        await db.ExecuteAsync("create table pgb_jobs (id bigint generated always as identity primary key, state int not null default 0, payload text not null)");
        await db.ExecuteAsync($"insert into pgb_jobs (payload) select '{{}}' from generate_series(1, {rows})");
        await db.ExecuteAsync("create index pgb_jobs_claim on pgb_jobs (id) where state = 0");
        await db.ExecuteAsync("vacuum analyze pgb_jobs");

        var script = Path.GetTempFileName();
        await File.WriteAllTextAsync(script, $"""
            with next as (select id from pgb_jobs where state = 0 order by id limit {rowsPerTransaction} for update skip locked)
            update pgb_jobs set state = 1 from next where pgb_jobs.id = next.id;
            """);
        var builder = new NpgsqlConnectionStringBuilder(connection);
        var start = new ProcessStartInfo(PgbenchPath()) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { "-n", "-c", concurrency.ToString(), "-j", "2", "-T", seconds.ToString(), "-f", script, "-h", builder.Host!, "-p", builder.Port.ToString(), "-U", builder.Username!, "bench_ceiling" })
            start.ArgumentList.Add(argument);
        using var pgbench = Process.Start(start)!;
        var output = await pgbench.StandardOutput.ReadToEndAsync();
        await pgbench.WaitForExitAsync();
        File.Delete(script);
        if (pgbench.ExitCode != 0) throw new InvalidOperationException($"pgbench failed: {await pgbench.StandardError.ReadToEndAsync()}");

        var claimed = await db.ScalarAsync<long>("select count(*) from pgb_jobs where state = 1");
        var tps = double.Parse(TpsPattern().Match(output).Groups[1].Value);
        var result = new CeilingResult($"pgbench SKIP LOCKED claim, {rowsPerTransaction} row{(rowsPerTransaction == 1 ? "" : "s")} per commit", claimed / (double)seconds,
            $"{concurrency} clients, {seconds} s, {tps:N0} transactions/s, {claimed:N0} rows claimed");
        log.WriteLine($"  {result.Name}: {result.PerSecond:N0} rows/s ({result.Detail})");
        await db.ExecuteAsync("drop table pgb_jobs");
        return result;
    }

    /// <summary>The in-process limit: a plain Channel with the burn-down's shape (fill, then drain with N consumers).</summary>
    public async Task<CeilingResult> ChannelsAsync(int jobs, int concurrency)
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
        clock.Stop();
        return Report(new CeilingResult("System.Threading.Channels, fill then drain", jobs / clock.Elapsed.TotalSeconds, $"{jobs:N0} items, {concurrency} consumers"));
    }

    /// <summary>The in-memory store itself, same shape: workers claim batches of 50 with a lease and complete each job.</summary>
    public async Task<CeilingResult> InMemoryStoreAsync(int jobs, int concurrency)
    {
        var store = new InMemoryClusterStore();
        for (var sent = 0; sent < jobs; sent += 1000)
            await store.EnqueueAsync("bench", Enumerable.Range(0, Math.Min(1000, jobs - sent)).Select(_ => new NewJob("{}", 0, null, false, 3)).ToList(), DateTimeOffset.UtcNow, CancellationToken.None);
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(worker => Task.Run(async () =>
        {
            var claim = new JobClaim(50, TimeSpan.FromMinutes(5), $"w{worker}");
            while ((await store.ClaimAsync("bench", claim, DateTimeOffset.UtcNow, CancellationToken.None)) is { Count: > 0 } batch)
                foreach (var job in batch) await store.CompleteAsync("bench", job.JobId, job.LeaseToken, null, DateTimeOffset.UtcNow, CancellationToken.None);
        })));
        clock.Stop();
        return Report(new CeilingResult("Orleans.Jobs in-memory store (claim 50, complete each)", jobs / clock.Elapsed.TotalSeconds, $"{jobs:N0} jobs, {concurrency} workers"));
    }

    /// <summary>The whole embedded stack: silos with worker grains, queue grain calls, leases, on the in-memory store.</summary>
    public async Task<CeilingResult> InMemorySilosAsync(int jobs, int concurrency)
    {
        var builder = new TestClusterBuilder(2).ConfigureSilo(s =>
        {
            s.Services.Configure<WorkerOptions>(o => o.MaxConcurrency = concurrency / 2);
            s.AddJobHandler("bench", (_, _) => Task.FromResult<string?>(null));
        });
        var store = (InMemoryClusterStore)builder.Options.Store;
        for (var sent = 0; sent < jobs; sent += 1000)
            await store.EnqueueAsync("bench", Enumerable.Range(0, Math.Min(1000, jobs - sent)).Select(_ => new NewJob("{}", 0, null, false, 3)).ToList(), DateTimeOffset.UtcNow, CancellationToken.None);
        var clock = Stopwatch.StartNew();
        await using (var cluster = builder.Build())
        {
            await cluster.DeployAsync();
            while ((await store.GetCountsAsync("bench", DateTimeOffset.UtcNow, CancellationToken.None)).Completed < jobs) await Task.Delay(5);
            clock.Stop();
        }

        return Report(new CeilingResult("Orleans.Jobs in-memory silos (2 silos, workers, grains)", jobs / clock.Elapsed.TotalSeconds, $"{jobs:N0} jobs, {concurrency} in flight"));
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
