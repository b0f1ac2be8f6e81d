using Npgsql;
using Orleans.Jobs.Grains.Interfaces;
using Orleans.Jobs.Storage;
using Orleans.Jobs.Storage.PostgreSql;

namespace Orleans.Jobs.Tests.Storage;

/// <summary>What only the PostgreSQL provider has to show: migrations, secrets, notifications and their fallback, the archive.</summary>
public sealed class PostgresStoreTests : PostgresSchemaTest
{
    [Fact]
    public async Task Silos_starting_at_once_on_an_empty_database_all_come_up_and_migrate_once()
    {
        var stores = Enumerable.Range(0, 6).Select(_ => new PostgresJobStore(TestPostgres.Options(Schema))).ToList();
        try
        {
            await Task.WhenAll(stores.Select(s => s.StartAsync(Ct)));
            var versions = await TestPostgres.ScalarAsync<long>($"select count(*) from {Schema}.schema_migrations");
            Assert.Equal(PostgresMigrator.Migrations.Count, versions);

            // Every one of them works on the shared schema.
            var ids = await stores[0].EnqueueAsync("q", [new NewJob("x", 0, null, false, 1)], DateTimeOffset.UtcNow, Ct);
            Assert.Equal(ids[0], (await stores[5].GetJobAsync("q", ids[0], Ct))!.JobId);

            // A restart finds nothing to do.
            await using var again = new PostgresJobStore(TestPostgres.Options(Schema));
            await again.StartAsync(Ct);
            Assert.Equal(versions, await TestPostgres.ScalarAsync<long>($"select count(*) from {Schema}.schema_migrations"));
        }
        finally
        {
            foreach (var store in stores) await store.DisposeAsync();
        }
    }

    [Fact]
    public async Task The_password_never_appears_in_logs_or_errors()
    {
        const string secret = "s3cret-Pa55word";
        var logger = new ListLogger<PostgresJobStore>();
        var options = TestPostgres.Options(Schema, TestPostgres.ConnectionString + $";Password={secret}");
        await using (var store = new PostgresJobStore(options, logger: logger))
        {
            await store.StartAsync(Ct);
        }

        Assert.NotEmpty(logger.Lines);
        Assert.Contains(logger.Lines, l => l.Contains("Host=127.0.0.1") && l.Contains(Schema));
        Assert.DoesNotContain(logger.Lines, l => l.Contains(secret));

        var invalid = Assert.Throws<Microsoft.Extensions.Options.OptionsValidationException>(() =>
            new PostgresJobStore(new PostgresStoreOptions { ConnectionString = $"Host=x;Password={secret};Bogus Key=1" }));
        Assert.Contains("not a valid Npgsql connection string", invalid.Message);
        Assert.DoesNotContain(secret, invalid.Message);
    }

    [Fact]
    public async Task A_waiter_finds_work_even_when_its_notification_is_lost()
    {
        await using var store = await TestPostgres.CreateStoreAsync(Schema);
        await Eventually.TrueAsync(() => store.IsListening, "the store to LISTEN"); // connecting wakes every waiter once
        using var subscription = store.SubscribeAvailability("quiet");

        // A row written behind the store's back sends no NOTIFY: only the poll interval can find it.
        await using (var connection = new NpgsqlConnection(TestPostgres.ConnectionString))
        {
            await connection.OpenAsync(Ct);
            await using var insert = new NpgsqlCommand(
                $"insert into {Schema}.jobs (queue, state, payload, priority, position, enqueued_at, visible_at, max_attempts) values ('quiet', 0, 'unannounced', 0, 0, now(), now(), 1)",
                connection);
            await insert.ExecuteNonQueryAsync(Ct);
        }

        Assert.False(await subscription.WaitAsync(TimeSpan.FromMinutes(1), TimeProvider.System, Ct)); // woke by the poll interval, not a signal
        var claimed = await store.ClaimAsync("quiet", new JobClaim(1, null, "w"), DateTimeOffset.UtcNow, Ct);
        Assert.Equal("unannounced", Assert.Single(claimed).Payload);
    }

    [Fact]
    public async Task A_send_on_one_store_wakes_a_waiter_on_another_through_notify()
    {
        await using var sender = await TestPostgres.CreateStoreAsync(Schema);
        await using var receiver = await TestPostgres.CreateStoreAsync(Schema);
        await Eventually.TrueAsync(() => receiver.IsListening, "the receiver to LISTEN");
        using var subscription = receiver.SubscribeAvailability("q");
        await sender.EnqueueAsync("q", [new NewJob("ping", 0, null, false, 1)], DateTimeOffset.UtcNow, Ct);
        Assert.True(await subscription.WaitAsync(TimeSpan.FromMinutes(1), TimeProvider.System, Ct));
    }

    [Fact]
    public async Task A_completion_the_database_refuses_fails_alone_not_its_whole_batch()
    {
        await using var store = await TestPostgres.CreateStoreAsync(Schema);
        var now = DateTimeOffset.UtcNow;
        await store.EnqueueAsync("q", Enumerable.Range(0, 20).Select(i => new NewJob($"j{i}", 0, null, false, 3)).ToList(), now, Ct);
        var claimed = await store.ClaimAsync("q", new JobClaim(20, TimeSpan.FromMinutes(1), "w"), now, Ct);

        // The grain rejects such text before it gets here; the store must still not let one row sink the others.
        var completions = claimed.Select((j, i) => store.CompleteAsync("q", j.JobId, j.LeaseToken, i == 7 ? "bad\0result" : "ok", now, Ct)).ToList();
        await Assert.ThrowsAnyAsync<Exception>(() => completions[7]);
        foreach (var completion in completions.Where((_, i) => i != 7))
            Assert.Equal(JobUpdateOutcome.Updated, await completion);
        Assert.Equal(new QueueCounts(0, 0, 1, 19, 0), await store.GetCountsAsync("q", now, Ct));
    }

    [Fact]
    public async Task A_worker_batch_larger_than_a_statement_is_written_in_several_and_answered_whole()
    {
        var options = TestPostgres.Options(Schema);
        options.CompletionBatchSize = 3;
        await using var store = new PostgresJobStore(options);
        await store.StartAsync(Ct);
        var now = DateTimeOffset.UtcNow;
        await store.EnqueueAsync("q", Enumerable.Range(0, 10).Select(i => new NewJob($"j{i}", 0, null, false, 3)).ToList(), now, Ct);
        var claimed = await store.ClaimAsync("q", new JobClaim(10, TimeSpan.FromMinutes(1), "w"), now, Ct);

        // Ten completions in statements of three: one of them stale, the rest recorded, each answered in its place.
        var completions = claimed.Select((j, i) => new JobCompletion(j.JobId, i == 4 ? Guid.NewGuid() : j.LeaseToken, $"r{i}")).ToList();
        var outcomes = await store.CompleteManyAsync("q", completions, now, Ct);

        Assert.Equal(Enumerable.Range(0, 10).Select(i => i == 4 ? JobUpdateOutcome.LeaseLost : JobUpdateOutcome.Updated), outcomes);
        Assert.Equal(new QueueCounts(0, 0, 1, 9, 0), await store.GetCountsAsync("q", now, Ct));
        Assert.Equal("r9", (await store.GetJobAsync("q", claimed[9].JobId, Ct))!.Result);
    }

    [Fact]
    public async Task A_batch_over_two_queues_whose_pairs_cross_queues_deletes_nothing_it_does_not_archive()
    {
        await using var store = await TestPostgres.CreateStoreAsync(Schema);
        var now = DateTimeOffset.UtcNow;
        await store.EnqueueAsync("b", [new NewJob("five", 0, null, false, 3), new NewJob("seven", 0, null, false, 3)], now, Ct);
        var claimed = await store.ClaimAsync("b", new JobClaim(2, TimeSpan.FromMinutes(1), "w"), now, Ct);
        var (five, seven) = (claimed[0], claimed[1]);

        // Five's token, once under the wrong queue and once with seven's id: queue b's statement alone would match five
        // by its id (from a stale pair) and its token (from seven's pair), a pair the batch holds only under queue a.
        var batch = new[]
        {
            new PendingCompletion("a", five.JobId, five.LeaseToken, "wrong queue", now),
            new PendingCompletion("b", five.JobId, Guid.NewGuid(), "stale", now),
            new PendingCompletion("b", seven.JobId, five.LeaseToken, "wrong job", now),
        };
        await store.WriteCompletionsAsync(batch);

        Assert.Equal([JobUpdateOutcome.NotFound, JobUpdateOutcome.LeaseLost, JobUpdateOutcome.LeaseLost], await Task.WhenAll(batch.Select(c => c.Outcome.Task)));
        Assert.Equal(new QueueCounts(0, 0, 2, 0, 0), await store.GetCountsAsync("b", now, Ct));
        foreach (var job in claimed) Assert.Equal(JobUpdateOutcome.Updated, await store.CompleteAsync("b", job.JobId, job.LeaseToken, "own", now, Ct));
        Assert.Equal(new QueueCounts(0, 0, 0, 2, 0), await store.GetCountsAsync("b", now, Ct));
    }

    [Fact]
    public async Task Finished_jobs_leave_the_hot_table_and_are_pruned_after_their_retention()
    {
        await using var store = await TestPostgres.CreateStoreAsync(Schema);
        var now = DateTimeOffset.UtcNow;
        await store.EnqueueAsync("q", Enumerable.Range(0, 10).Select(i => new NewJob($"j{i}", 0, null, false, 1)).ToList(), now, Ct);
        var claimed = await store.ClaimAsync("q", new JobClaim(10, TimeSpan.FromMinutes(1), "w"), now, Ct);
        await Task.WhenAll(claimed.Take(8).Select(j => store.CompleteAsync("q", j.JobId, j.LeaseToken, "ok", now, Ct)));
        await Task.WhenAll(claimed.Skip(8).Select(j => store.FailAsync("q", j.JobId, j.LeaseToken, "bad", new RetryBackoff(TimeSpan.Zero, TimeSpan.Zero), now, Ct)));

        Assert.Equal(0L, await TestPostgres.ScalarAsync<long>($"select count(*) from {Schema}.jobs"));
        Assert.Equal(10L, await TestPostgres.ScalarAsync<long>($"select count(*) from {Schema}.finished_jobs"));
        Assert.Equal(new QueueCounts(0, 0, 0, 8, 2), await store.GetCountsAsync("q", now, Ct));
        Assert.Equal("ok", (await store.GetJobAsync("q", claimed[0].JobId, Ct))!.Result);

        Assert.Equal(0, await store.PruneFinishedAsync("q", now - TimeSpan.FromSeconds(1), now - TimeSpan.FromSeconds(1), Ct));
        Assert.Equal(8, await store.PruneFinishedAsync("q", now + TimeSpan.FromSeconds(1), now - TimeSpan.FromSeconds(1), Ct));
        Assert.Equal(new QueueCounts(0, 0, 0, 0, 2), await store.GetCountsAsync("q", now, Ct));
    }

    [Fact]
    public async Task A_claim_that_committed_while_its_reply_was_lost_is_resumed_at_once_not_after_its_lease()
    {
        var server = new NpgsqlConnectionStringBuilder(TestPostgres.ConnectionString);
        await using var proxy = new TcpProxy("127.0.0.1", server.Port);
        var throughProxy = new NpgsqlConnectionStringBuilder(TestPostgres.ConnectionString) { Port = proxy.Port, Timeout = 2, CommandTimeout = 30 }.ConnectionString;
        await using var direct = await TestPostgres.CreateStoreAsync(Schema); // the test's own view, not through the proxy
        await using var store = new PostgresJobStore(TestPostgres.Options(Schema, throughProxy));
        await store.StartAsync(Ct);
        var ids = await direct.EnqueueAsync("q", [new NewJob("a", 0, null, false, 3), new NewJob("b", 0, null, false, 3)], DateTimeOffset.UtcNow, Ct);
        var claim = new JobClaim(2, TimeSpan.FromSeconds(30), "worker");
        Assert.Empty(await store.ClaimAsync("elsewhere", claim, DateTimeOffset.UtcNow, Ct)); // leaves an open connection in the pool: a new one could not log in below

        // The claim reaches the server and commits; its answer is swallowed, then the connection drops.
        proxy.SwallowReplies();
        var lost = store.ClaimAsync("q", claim, DateTimeOffset.UtcNow, Ct);
        await Eventually.TrueAsync(async () => (await direct.GetCountsAsync("q", DateTimeOffset.UtcNow, Ct)).Running == 2, "the claim to commit on the server");
        Assert.False(lost.IsCompleted);
        proxy.Cut();
        await Assert.ThrowsAnyAsync<NpgsqlException>(() => lost);
        var lostAt = System.Diagnostics.Stopwatch.StartNew();
        proxy.Restore();

        // Without its id the jobs are out of reach (leased to a token nobody holds) until the lease runs out...
        Assert.Empty(await direct.ClaimAsync("q", new JobClaim(2, TimeSpan.FromSeconds(30), "another"), DateTimeOffset.UtcNow, Ct));

        // ...but the claimer, repeating its claim under the same id, gets them back at once.
        IReadOnlyList<ClaimedJob> resumed = [];
        await Eventually.TrueAsync(async () => (resumed = await store.ClaimAsync("q", claim with { Resume = true }, DateTimeOffset.UtcNow, Ct)).Count > 0,
            "the resumed claim to answer once the connection is back", TimeSpan.FromSeconds(10));
        Assert.True(lostAt.Elapsed < TimeSpan.FromSeconds(5), $"resumed after {lostAt.Elapsed}, not within a few seconds");
        Assert.Equal([(ids[0], 1), (ids[1], 1)], resumed.Select(j => (j.JobId, j.Attempt)));
        foreach (var job in resumed)
            Assert.Equal(JobUpdateOutcome.Updated, await store.CompleteAsync("q", job.JobId, job.LeaseToken, "done", DateTimeOffset.UtcNow, Ct));
        Assert.Equal(2, (await direct.GetCountsAsync("q", DateTimeOffset.UtcNow, Ct)).Completed);
    }

    [Fact]
    public async Task A_monitored_claim_skips_waiting_for_its_flush_in_its_own_transaction_only()
    {
        await using var store = await TestPostgres.CreateStoreAsync(Schema);
        await store.EnqueueAsync("q", [new NewJob("x", 0, null, false, 1), new NewJob("y", 0, null, false, 1)], DateTimeOffset.UtcNow, Ct);

        // The store's claim statement on a connection the test keeps: what runs next on a pooled connection (a completion
        // among them) must wait for its flush as the server is configured to.
        await using var connection = new NpgsqlConnection(TestPostgres.ConnectionString);
        await connection.OpenAsync(Ct);
        var configured = await ShowSynchronousCommitAsync(connection);
        Assert.NotEqual("off", configured);

        Assert.Equal("off", await ClaimOneAsync(connection, leaseUs: 60_000_000L));
        Assert.Equal(configured, await ShowSynchronousCommitAsync(connection));

        // An unmonitored job must never run twice: its claim waits for the flush, as the server is configured.
        Assert.Equal(configured, await ClaimOneAsync(connection, leaseUs: null));
        Assert.Equal(2, (await store.GetCountsAsync("q", DateTimeOffset.UtcNow, Ct)).Running);
    }

    /// <summary>Claims one job with the store's statement in a transaction; returns synchronous_commit as the claim left it.</summary>
    private async Task<string> ClaimOneAsync(NpgsqlConnection connection, long? leaseUs)
    {
        var now = DateTimeOffset.UtcNow;
        await using var transaction = await connection.BeginTransactionAsync(Ct);
        await using var claim = new NpgsqlCommand(new PostgresQueries(Schema).Claim, connection, transaction);
        claim.Parameters.AddWithValue("queue", "q");
        claim.Parameters.AddWithValue("now", now);
        claim.Parameters.AddWithValue("max", 1);
        claim.Parameters.AddWithValue("owner", "test-silo");
        claim.Parameters.AddWithValue("claim", Guid.NewGuid());
        claim.Parameters.AddWithValue("tokenKey", Guid.NewGuid().ToString("N"));
        claim.Parameters.Add(new NpgsqlParameter<long?>("leaseUs", NpgsqlTypes.NpgsqlDbType.Bigint) { TypedValue = leaseUs });
        claim.Parameters.Add(new NpgsqlParameter<DateTimeOffset?>("expires", NpgsqlTypes.NpgsqlDbType.TimestampTz) { TypedValue = leaseUs is null ? null : now.AddMinutes(1) });
        Assert.Equal(1, await claim.ExecuteNonQueryAsync(Ct));
        var during = await ShowSynchronousCommitAsync(connection);
        await transaction.CommitAsync(Ct);
        return during;
    }

    private static async Task<string> ShowSynchronousCommitAsync(NpgsqlConnection connection)
    {
        await using var show = new NpgsqlCommand("show synchronous_commit", connection);
        return (string)(await show.ExecuteScalarAsync(Ct))!;
    }
}
