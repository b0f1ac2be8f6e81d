using System.Diagnostics;
using Orleans.Jobs.Storage;
using Orleans.Jobs.Storage.PostgreSql;

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
        var stores = new Dictionary<int, PostgresJobStore>();
        try
        {
            foreach (var history in Histories)
            {
                var schema = $"bench_history_{history}";
                await _db.ExecuteAsync(BenchmarkSql.DropSchema(schema));
                var store = new PostgresJobStore(new PostgresStoreOptions { ConnectionString = connectionString, Schema = schema });
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
                    var archive = await _db.ScalarAsync<long>(BenchmarkSql.CountArchive(schema));
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
                await _db.ExecuteAsync(BenchmarkSql.DropSchema($"bench_history_{history}"));
            }
        }
    }

    /// <summary>Fills the archive with finished jobs of the benchmark queue.</summary>
    private async Task SeedHistoryAsync(string schema, int count)
    {
        await _db.ExecuteAsync(BenchmarkSql.SeedArchive(schema, Queue, count));
        await _db.ExecuteAsync(BenchmarkSql.VacuumArchive(schema));
    }

    private async Task<double> DrainAsync(PostgresJobStore store, string schema)
    {
        await JobBatches.EnqueueAsync(store, Queue, jobsPerRound, payload: i => $"job {i}");
        await _db.ExecuteAsync(BenchmarkSql.AnalyzeJobs(schema));

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
