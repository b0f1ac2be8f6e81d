using System.Diagnostics;
using Orleans.Jobs.Runtime.Jobs;
using Orleans.Jobs.Runtime.Storage.PostgreSql;

namespace Orleans.Jobs.Benchmarks;

/// <summary>
/// Does claim speed fall as history grows? Two schemas on one server, one whose queue has 10,000 finished jobs in
/// the archive and one with 1,000,000. After a discarded warm-up drain on each, drains alternate between them in
/// ABBA order, so the drift of a warming machine falls on both alike. A drain claims fresh jobs in batches and
/// completes each one.
/// </summary>
public sealed class HistoryDecay(string connectionString, int jobsPerRound, int rounds, TextWriter log)
{
    private readonly BenchmarkDatabase _db = new(connectionString);
    private const string Queue = "bench";
    private const int Workers = 16;
    private const int ClaimBatch = 50;
    private static readonly int[] Histories = [10_000, 1_000_000];

    public async Task<HistoryDecayResult> RunAsync()
    {
        var stores = new Dictionary<int, PostgresClusterStore>();
        try
        {
            foreach (var history in Histories)
            {
                var schema = $"bench_history_{history}";
                await _db.ExecuteAsync($"drop schema if exists {schema} cascade");
                var store = new PostgresClusterStore(new PostgresStoreOptions { ConnectionString = connectionString, Schema = schema });
                await store.StartAsync(CancellationToken.None);
                stores[history] = store;
                log.WriteLine($"  seeding {schema} with {history:N0} finished jobs");
                await SeedHistoryAsync(schema, history);
                log.WriteLine($"  warm-up drain: {await DrainAsync(store, schema),8:N0} jobs/s (not counted)");
            }

            var results = new List<HistoryRound>();
            for (var round = 1; round <= rounds; round++)
            {
                foreach (var history in round % 2 == 1 ? Histories : Histories.Reverse())
                {
                    var schema = $"bench_history_{history}";
                    var archive = await _db.ScalarAsync<long>($"select count(*) from {schema}.finished_jobs");
                    var rate = await DrainAsync(stores[history], schema);
                    results.Add(new HistoryRound(history, archive, round, rate));
                    log.WriteLine($"  round {round}, history {history,9:N0} (archive {archive,9:N0}): {rate,8:N0} jobs/s");
                }
            }

            return new HistoryDecayResult(jobsPerRound, Workers, ClaimBatch, results);
        }
        finally
        {
            foreach (var (history, store) in stores)
            {
                await store.DisposeAsync();
                await _db.ExecuteAsync($"drop schema if exists bench_history_{history} cascade");
            }
        }
    }

    /// <summary>Fills the archive with finished jobs of the benchmark queue (ids below zero never clash with real ones).</summary>
    private async Task SeedHistoryAsync(string schema, int count)
    {
        await _db.ExecuteAsync($"""
            insert into {schema}.finished_jobs (id, queue, state, payload, priority, enqueued_at, visible_at, attempt, max_attempts, owner, finished_at, result, last_error)
            select -g, '{Queue}', case when g % 100 = 0 then 3 else 2 end, 'history ' || g, 0, now() - interval '1 hour', now() - interval '1 hour', 1, 1, 'silo-x', now() - interval '30 minutes', 'ok', null
            from generate_series(1, {count}) g
            """);
        await _db.ExecuteAsync($"vacuum analyze {schema}.finished_jobs");
    }

    private async Task<double> DrainAsync(PostgresClusterStore store, string schema)
    {
        var now = DateTimeOffset.UtcNow;
        for (var sent = 0; sent < jobsPerRound; sent += 1000)
            await store.EnqueueAsync(Queue, Enumerable.Range(0, Math.Min(1000, jobsPerRound - sent)).Select(i => new NewJob($"job {sent + i}", 0, null, false, 3)).ToList(), now, CancellationToken.None);
        await _db.ExecuteAsync($"analyze {schema}.jobs"); // see BENCHMARKING.md: statistics must not depend on autovacuum timing

        var clock = Stopwatch.StartNew();
        var claimed = 0;
        await Task.WhenAll(Enumerable.Range(0, Workers).Select(async worker =>
        {
            var claim = new JobClaim(ClaimBatch, TimeSpan.FromMinutes(5), $"bench-{worker}");
            while (true)
            {
                var jobs = await store.ClaimAsync(Queue, claim, DateTimeOffset.UtcNow, CancellationToken.None);
                if (jobs.Count == 0) return;
                Interlocked.Add(ref claimed, jobs.Count);
                await Task.WhenAll(jobs.Select(j => store.CompleteAsync(Queue, j.JobId, j.LeaseToken, null, DateTimeOffset.UtcNow, CancellationToken.None)));
            }
        }));
        clock.Stop();
        if (claimed != jobsPerRound) throw new InvalidOperationException($"Drained {claimed} jobs, expected {jobsPerRound}.");
        return jobsPerRound / clock.Elapsed.TotalSeconds;
    }
}

public sealed record HistoryRound(int History, long ArchiveRows, int Round, double JobsPerSecond);

public sealed record HistoryDecayResult(int JobsPerRound, int Workers, int ClaimBatch, IReadOnlyList<HistoryRound> Rounds)
{
    public double Median(int history)
    {
        var rates = Rounds.Where(r => r.History == history).Select(r => r.JobsPerSecond).Order().ToList();
        return rates.Count % 2 == 1 ? rates[rates.Count / 2] : (rates[rates.Count / 2 - 1] + rates[rates.Count / 2]) / 2;
    }

    public double Ratio => Median(1_000_000) / Median(10_000);
}
