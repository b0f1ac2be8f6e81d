using Orleans.Jobs.ClusterProcess;

namespace Orleans.Jobs.Tests.JobSets;

/// <summary>
/// The seed's setting: the same script in five worker processes on PostgreSQL, all started at once, no master;
/// 2,000 jobs, one in ten failing on its first run. Every job completes exactly once, retries run after the fresh
/// work, and every process exits 0.
/// </summary>
public sealed class JobSetProcessTests : MultiProcessTest
{
    private const int Jobs = 2_000;
    private const int Workers = 5;

    [Fact]
    public async Task Five_worker_processes_complete_every_job_exactly_once_and_all_exit_0()
    {
        await using (await TestPostgres.CreateStoreAsync(Schema)) { } // the schema, before the table below
        await TestPostgres.ScalarAsync<int>($"create table {Schema}.jobset_runs (job_id text not null, worker text not null, ok boolean not null, started_at timestamptz not null); select 1");
        foreach (var _ in Enumerable.Range(0, 2)) await Processes.StartSiloAsync("silo", ["unused"]);

        var workers = Enumerable.Range(0, Workers)
            .Select(_ => Processes.Start("jobset-worker", [TestPostgres.ConnectionString, Schema, "texturemap_2016_08_25", Jobs.ToString(), .. Processes.ClientArguments()]))
            .ToList();
        foreach (var worker in workers)
        {
            var summary = await worker.ReadLineStartingWithAsync("SUMMARY", "a worker to finish the jobset", TimeSpan.FromSeconds(240));
            Assert.StartsWith($"SUMMARY {Jobs} 0 ", summary);
            Assert.Equal(0, await worker.WaitForExitAsync("a worker to exit", TimeSpan.FromSeconds(60)));
        }

        Assert.Equal(Jobs, await CountAsync("select count(distinct job_id) from {0}.jobset_runs where ok"));
        Assert.Equal(0, await CountAsync("select count(*) from (select job_id from {0}.jobset_runs where ok group by job_id having count(*) > 1) twice"));
        Assert.Equal(Jobs / 10, await CountAsync("select count(*) from {0}.jobset_runs where not ok"));
        Assert.True(await CountAsync("select count(distinct worker) from {0}.jobset_runs") >= 3, "the work was shared");

        // Retries after the fresh work: no retry started before all but the last few first runs (one per worker slot: a slot may have claimed a fresh job and not yet started it).
        var early = await CountAsync(
            "with firsts as (select job_id, min(started_at) at from {0}.jobset_runs group by job_id), " +
            $"cutoff as (select at from firsts order by at offset {Jobs - Workers * JobSetWorker.Concurrency} limit 1) " +
            "select count(*) from {0}.jobset_runs r where r.ok and exists (select 1 from {0}.jobset_runs f where f.job_id = r.job_id and not f.ok) and r.started_at < (select at from cutoff)");
        Assert.Equal(0, early);
    }

    private Task<long> CountAsync(string sql) => TestPostgres.ScalarAsync<long>(string.Format(sql, Schema));
}
