using System.Collections.Concurrent;
using Npgsql;
using Orleans.Jobs.Client.JobSets;
using Orleans.Jobs.Grains;
using Orleans.Jobs.Grains.Interfaces;
using Orleans.Jobs.Grains.Interfaces.JobSets;
using Orleans.Jobs.Storage.PostgreSql;

namespace Orleans.Jobs.Tests.Storage;

/// <summary>One silo on PostgreSQL whose store the tests make fail on purpose, with triggers and constraints.</summary>
public sealed class FailingStoreCluster : StoreClusterFixture
{
    protected override StoreKind Kind => StoreKind.Postgres;

    protected override int SiloCount => 1;

    protected override JobsClusterBuilder Configure(JobsClusterBuilder builder) => builder;
}

/// <summary>
/// What callers see when PostgreSQL fails a call: a <see cref="JobStoreException"/> that names the kind of failure (not
/// the driver's exception, which Orleans cannot serialize), conflicts retried inside the store, and jobset workers
/// that wait out an outage instead of dying.
/// </summary>
public sealed class StoreFailureTests(FailingStoreCluster fixture) : IClassFixture<FailingStoreCluster>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;
    private string Schema => fixture.Schema!;
    private IClusterClient Client => fixture.Cluster.Client;

    [Fact]
    public async Task A_store_error_reaches_the_caller_as_a_JobStoreException_naming_its_kind_and_stored_work_is_kept()
    {
        var queue = Client.GetGrain<IQueueGrain>($"refused-{Guid.NewGuid():N}"[..16]);
        var kept = await queue.SendAsync("kept");
        await TestPostgres.ExecuteAsync($"alter table {Schema}.jobs add constraint test_refuse_long check (length(payload) < 10) not valid");
        try
        {
            var error = await Assert.ThrowsAsync<JobStoreException>(() => queue.SendAsync("a payload longer than ten"));
            Assert.Equal("The job store failed: the server refused the data (SQLSTATE 23514). See the silo's log for details.", error.Message);
            Assert.False(error.IsTransient);
            Assert.DoesNotContain("test_refuse_long", error.Message); // the driver's text stays in the silo's log
        }
        finally
        {
            await TestPostgres.ExecuteAsync($"alter table {Schema}.jobs drop constraint test_refuse_long");
        }

        Assert.Equal(1, (await queue.GetCountsAsync()).Available); // the refused send added nothing and took nothing
        Assert.True(await queue.SendAsync("a payload longer than ten") > kept);
        Assert.Equal(2, (await queue.GetCountsAsync()).Available);
    }

    [Fact]
    public async Task Deadlock_victims_are_run_again_and_other_errors_are_not()
    {
        var tries = 0;
        var answer = await ConflictRetry.RunAsync(async () =>
        {
            if (++tries < 3) await RaiseAsync(PostgresErrorCodes.DeadlockDetected);
            return 42;
        }, Ct);
        Assert.Equal((42, 3), (answer, tries));

        tries = 0;
        var conflict = await Assert.ThrowsAsync<PostgresException>(() => ConflictRetry.RunAsync<int>(async () => { tries++; await RaiseAsync(PostgresErrorCodes.SerializationFailure); return 0; }, Ct));
        Assert.Equal(ConflictRetry.MaxAttempts, tries);
        var described = JobStoreErrorFilter.Describe(conflict);
        Assert.True(described.IsTransient);
        Assert.Equal("The job store failed: a serialization conflict outlasted the store's retries (SQLSTATE 40001). The call can be tried again.", described.Message);

        tries = 0;
        await Assert.ThrowsAsync<PostgresException>(() => ConflictRetry.RunAsync<int>(async () => { tries++; await RaiseAsync(PostgresErrorCodes.DivisionByZero); return 0; }, Ct));
        Assert.Equal(1, tries);
    }

    [Fact]
    public async Task A_jobset_worker_waits_out_failing_claims_and_completions_and_every_job_completes_once()
    {
        const int Jobs = 20;
        var id = $"outage_{Guid.NewGuid():N}"[..20];
        var queue = JobSetRules.Queue(id);
        var log = new SignalingLog();
        var runs = new ConcurrentDictionary<string, int>();
        await TestPostgres.ExecuteAsync($"""
            create function {Schema}.test_deadlock() returns trigger language plpgsql as $$
            begin raise exception 'test outage' using errcode = '40P01'; end $$;
            create trigger test_claims_fail before update on {Schema}.jobs for each row
                when (new.queue = '{queue}' and old.state = 0 and new.state = 1) execute function {Schema}.test_deadlock();
            """);
        try
        {
            var run = JobSet.RunAsync(Client, id, (jobId, _, _) => { runs.AddOrUpdate(jobId, 1, (_, n) => n + 1); return Task.CompletedTask; },
                Enumerable.Range(0, Jobs).Select(i => $"job-{i}"),
                options: new JobSetOptions { Concurrency = 2, IdleWait = TimeSpan.FromMilliseconds(200), Verbose = true, Log = log, ClusterErrorTimeout = TimeSpan.FromMinutes(2) },
                cancellationToken: Ct);

            await log.WaitForAsync("could not claim a job (JobStoreException");
            Assert.Empty(runs);
            await TestPostgres.ExecuteAsync($"""
                drop trigger test_claims_fail on {Schema}.jobs;
                create trigger test_completions_fail before insert on {Schema}.finished_jobs for each row
                    when (new.queue = '{queue}' and new.state = 2) execute function {Schema}.test_deadlock();
                """);
            await log.WaitForAsync("could not record a finished job (JobStoreException");
            await TestPostgres.ExecuteAsync($"drop trigger test_completions_fail on {Schema}.finished_jobs");

            var summary = await Eventually.WithinAsync(run, "the jobset to complete once the store works again", TimeSpan.FromMinutes(2));
            Assert.Equal((Jobs, Jobs, 0L), (summary.Total, summary.Completed, summary.Failed));
            Assert.Equal(Jobs, runs.Count);
            Assert.All(runs, r => Assert.Equal(1, r.Value)); // nothing ran twice: every retry was of a call, not of a job
            Assert.Equal(Jobs, await TestPostgres.ScalarAsync<long>($"select count(distinct payload) from {Schema}.finished_jobs where queue = '{queue}' and state = 2"));
        }
        finally
        {
            await TestPostgres.ExecuteAsync($"""
                drop trigger if exists test_claims_fail on {Schema}.jobs;
                drop trigger if exists test_completions_fail on {Schema}.finished_jobs;
                """);
        }
    }

    private static async Task RaiseAsync(string sqlState)
    {
        await using var connection = new NpgsqlConnection(TestPostgres.ConnectionString);
        await connection.OpenAsync(Ct);
        await using var command = new NpgsqlCommand($"do $$ begin raise exception 'raised by a test' using errcode = '{sqlState}'; end $$", connection);
        await command.ExecuteNonQueryAsync(Ct);
    }

    /// <summary>A verbose log that tests can wait on: each line is kept and wakes whoever waits for it.</summary>
    private sealed class SignalingLog : TextWriter
    {
        private readonly List<string> _lines = [];
        private readonly SemaphoreSlim _changed = new(0);

        public override System.Text.Encoding Encoding => System.Text.Encoding.UTF8;

        public override void WriteLine(string? value)
        {
            lock (_lines) _lines.Add(value ?? "");
            _changed.Release();
        }

        public async Task WaitForAsync(string fragment)
        {
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(Ct);
            deadline.CancelAfter(TimeSpan.FromSeconds(60));
            while (true)
            {
                lock (_lines)
                    if (_lines.Any(l => l.Contains(fragment, StringComparison.Ordinal))) return;
                try { await _changed.WaitAsync(deadline.Token); }
                catch (OperationCanceledException) when (!Ct.IsCancellationRequested)
                {
                    lock (_lines) throw new TimeoutException($"No line with '{fragment}' within 60 s; the log: {string.Join(" | ", _lines.TakeLast(20))}");
                }
            }
        }
    }
}
