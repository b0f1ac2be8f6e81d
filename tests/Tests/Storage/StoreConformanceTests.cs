using Microsoft.Extensions.Time.Testing;
using Orleans.Jobs.Grains.Interfaces;
using Orleans.Jobs.Storage;

namespace Orleans.Jobs.Tests.Storage;

/// <summary>
/// The contract every <see cref="IJobStore"/> provider must meet. A provider's test class derives from this
/// and supplies a fresh, empty store; every test here then runs against it.
/// </summary>
public abstract class StoreConformanceTests : IAsyncLifetime
{
    private static readonly RetryBackoff Backoff = new(TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(1));
    private static readonly CancellationToken None = CancellationToken.None;

    protected FakeTimeProvider Clock { get; } = new(new DateTimeOffset(2026, 12, 1, 12, 0, 0, TimeSpan.Zero));
    protected IJobStore Store { get; private set; } = null!;
    private DateTimeOffset Now => Clock.GetUtcNow();

    /// <summary>Creates an empty store for one test.</summary>
    protected abstract Task<IJobStore> CreateStoreAsync();

    public async ValueTask InitializeAsync() => Store = await CreateStoreAsync();

    public virtual ValueTask DisposeAsync() => (Store as IAsyncDisposable)?.DisposeAsync() ?? ValueTask.CompletedTask;

    private static NewJob Job(string payload, int priority = 0, bool front = false, int maxAttempts = 3, DateTimeOffset? visibleAt = null) =>
        new(payload, priority, visibleAt, front, maxAttempts);

    private static JobClaim Monitored(int max = 1, string owner = "silo-a") => new(max, TimeSpan.FromSeconds(30), owner);

    private static JobClaim Unmonitored(int max = 1) => new(max, null, "client-x");

    private static readonly Guid ClaimIdA = Guid.Parse("0000000a-0000-0000-0000-000000000001");
    private static readonly Guid ClaimIdB = Guid.Parse("0000000b-0000-0000-0000-000000000002");

    private async Task<ClaimedJob> ClaimOneAsync(string queue, JobClaim? claim = null) =>
        Assert.Single(await Store.ClaimAsync(queue, claim ?? Monitored(), Now, None));

    /// <summary>Sends one job per payload with a single attempt and fails each: returns their ids, now dead letters.</summary>
    private async Task<IReadOnlyList<long>> DeadLettersAsync(string queue, params string[] payloads)
    {
        var ids = await Store.EnqueueAsync(queue, [.. payloads.Select(p => Job(p, maxAttempts: 1))], Now, None);
        foreach (var _ in ids)
        {
            var job = await ClaimOneAsync(queue);
            Assert.Equal(FailOutcome.DeadLettered, (await Store.FailAsync(queue, job.JobId, job.LeaseToken, "boom", Backoff, Now, None)).Outcome);
        }

        return ids;
    }

    // ---- jobs ----

    [Fact]
    public async Task Claims_take_higher_priority_first_then_expedited_newest_first_then_sent_in_order()
    {
        await Store.EnqueueAsync("q", [Job("back-1"), Job("back-2")], Now, None);
        Clock.Advance(TimeSpan.FromMilliseconds(1));
        await Store.EnqueueAsync("q", [Job("front-1", front: true)], Now, None);
        Clock.Advance(TimeSpan.FromMilliseconds(1));
        await Store.EnqueueAsync("q", [Job("front-2", front: true), Job("urgent", priority: 5), Job("low", priority: -1)], Now, None);

        var claimed = await Store.ClaimAsync("q", Monitored(max: 10), Now, None);
        Assert.Equal(["urgent", "front-2", "front-1", "back-1", "back-2", "low"], claimed.Select(j => j.Payload));
    }

    [Fact]
    public async Task A_bulk_send_keeps_every_job_its_id_order_priority_front_delay_and_attempts()
    {
        // Large enough for a provider's bulk path (PostgreSQL copies batches of 64 and more in).
        var jobs = Enumerable.Range(0, 300).Select(i => Job($"job-{i}", priority: i % 3 == 0 ? 1 : 0, front: i % 5 == 0, maxAttempts: 1 + i % 4,
            visibleAt: i % 7 == 0 ? Now + TimeSpan.FromSeconds(10) : null)).ToList();
        var ids = await Store.EnqueueAsync("q", jobs, Now, None);

        Assert.Equal(300, ids.Count);
        Assert.Equal(ids.Order(), ids);
        Assert.Equal(300, ids.Distinct().Count());
        Assert.Equal(new QueueCounts(300 - 43, 43, 0, 0, 0), await Store.GetCountsAsync("q", Now, None));
        var third = await Store.GetJobAsync("q", ids[3], None);
        Assert.Equal(("job-3", 1, 4, JobState.Available, Now), (third!.Payload, third.Priority, third.MaxAttempts, third.State, third.VisibleAt));

        Clock.Advance(TimeSpan.FromSeconds(10));
        var claimed = await Store.ClaimAsync("q", Monitored(max: 300), Now, None);
        var sentAt = Now - TimeSpan.FromSeconds(10);
        var expected = jobs.Select((job, i) => (job, i))
            .OrderByDescending(x => x.job.Priority)
            .ThenBy(x => JobRules.Position(x.job.Front, x.job.VisibleAt ?? sentAt))
            .ThenBy(x => x.i)
            .Select(x => x.job.Payload);
        Assert.Equal(expected, claimed.Select(j => j.Payload));
        Assert.Equal(jobs.Select(j => j.MaxAttempts).Sum(), claimed.Sum(j => j.MaxAttempts));
    }

    [Theory]
    [InlineData(1)] // a small write: one INSERT on PostgreSQL
    [InlineData(40)] // 2 + 3 x 40 jobs: the bulk path (PostgreSQL copies 64 and more in)
    public async Task Sends_written_together_keep_each_queue_and_job_and_answer_each_send_its_own_ids(int jobsPerSend)
    {
        using var alphaSignals = Store.SubscribeAvailability("alpha");
        using var betaSignals = Store.SubscribeAvailability("beta");
        QueueSend Send(string queue, string name, int priority = 0, bool front = false, int maxAttempts = 3, DateTimeOffset? visibleAt = null) =>
            new(queue, [.. Enumerable.Range(0, jobsPerSend).Select(i => Job($"{name}-{i}", priority, front, maxAttempts, visibleAt))]);
        QueueSend[] sends =
        [
            Send("alpha", "a1"),
            Send("beta", "b1", priority: 2, maxAttempts: 5),
            new("alpha", [Job("a2-urgent", priority: 1)]),
            Send("alpha", "a3-later", visibleAt: Now + TimeSpan.FromSeconds(10)),
            new("beta", [Job("b2-front", front: true, maxAttempts: 1)]),
        ];

        var ids = await Store.EnqueueManyAsync(sends, Now, None);

        Assert.Equal(sends.Select(s => s.Jobs.Count), ids.Select(i => i.Count));
        var all = ids.SelectMany(i => i).ToList();
        Assert.Equal(all.Order(), all); // in send order, each send's in job order
        Assert.Equal(all.Count, all.Distinct().Count());
        for (var s = 0; s < sends.Length; s++)
        {
            for (var j = 0; j < ids[s].Count; j++)
            {
                var expected = sends[s].Jobs[j];
                var stored = await Store.GetJobAsync(sends[s].Queue, ids[s][j], None);
                Assert.NotNull(stored);
                Assert.Equal((expected.Payload, expected.Priority, expected.MaxAttempts, expected.VisibleAt ?? Now), (stored.Payload, stored.Priority, stored.MaxAttempts, stored.VisibleAt));
            }
        }

        Assert.Equal(new QueueCounts(jobsPerSend + 1, jobsPerSend, 0, 0, 0), await Store.GetCountsAsync("alpha", Now, None));
        Assert.Equal(new QueueCounts(jobsPerSend + 1, 0, 0, 0, 0), await Store.GetCountsAsync("beta", Now, None));
        Assert.True(await alphaSignals.WaitAsync(TimeSpan.FromSeconds(10), TimeProvider.System, TestContext.Current.CancellationToken));
        Assert.True(await betaSignals.WaitAsync(TimeSpan.FromSeconds(10), TimeProvider.System, TestContext.Current.CancellationToken));
        var betaClaimed = await Store.ClaimAsync("beta", Monitored(max: 100), Now, None);
        Assert.Equal([.. Enumerable.Range(0, jobsPerSend).Select(i => $"b1-{i}"), "b2-front"], betaClaimed.Select(j => j.Payload)); // priority, then front
    }

    [Fact]
    public async Task The_next_visible_time_is_the_earliest_of_every_priority_front_and_back()
    {
        // Each priority's earliest is looked up on its own, front (expedited) jobs ordered the other way round.
        await Store.EnqueueAsync("q", [
            Job("high-back", priority: 5, visibleAt: Now + TimeSpan.FromSeconds(40)),
            Job("high-front-late", priority: 5, front: true, visibleAt: Now + TimeSpan.FromSeconds(50)),
            Job("high-front-early", priority: 5, front: true, visibleAt: Now + TimeSpan.FromSeconds(30)),
            Job("mid-back-late", priority: 0, visibleAt: Now + TimeSpan.FromSeconds(60)),
            Job("mid-back-early", priority: 0, visibleAt: Now + TimeSpan.FromSeconds(20)),
            Job("low-front", priority: -3, front: true, visibleAt: Now + TimeSpan.FromSeconds(25)),
        ], Now, None);
        await Store.EnqueueAsync("other", [Job("other", visibleAt: Now + TimeSpan.FromSeconds(1))], Now, None);
        Assert.Equal(Now + TimeSpan.FromSeconds(20), await Store.GetNextVisibleAtAsync("q", None));

        Clock.Advance(TimeSpan.FromSeconds(20));
        Assert.Equal("mid-back-early", (await ClaimOneAsync("q")).Payload);
        Assert.Equal(Now + TimeSpan.FromSeconds(5), await Store.GetNextVisibleAtAsync("q", None)); // low-front, at 25 s

        Clock.Advance(TimeSpan.FromSeconds(5));
        Assert.Equal("low-front", (await ClaimOneAsync("q")).Payload);
        Assert.Equal(Now + TimeSpan.FromSeconds(5), await Store.GetNextVisibleAtAsync("q", None)); // high-front-early, at 30 s
        Assert.Null(await Store.GetNextVisibleAtAsync("empty", None));
    }

    [Fact]
    public async Task Delayed_jobs_are_invisible_until_their_time()
    {
        var ids = await Store.EnqueueAsync("q", [Job("later", visibleAt: Now + TimeSpan.FromSeconds(10))], Now, None);
        Assert.Empty(await Store.ClaimAsync("q", Monitored(), Now, None));
        Assert.Equal(Now + TimeSpan.FromSeconds(10), await Store.GetNextVisibleAtAsync("q", None));
        Assert.Equal(new QueueCounts(0, 1, 0, 0, 0), await Store.GetCountsAsync("q", Now, None));

        Clock.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(ids[0], (await ClaimOneAsync("q")).JobId);
        Assert.Null(await Store.GetNextVisibleAtAsync("q", None));
    }

    [Fact]
    public async Task Concurrent_batch_claims_never_hand_out_a_job_twice()
    {
        var ids = await Store.EnqueueAsync("q", Enumerable.Range(0, 300).Select(i => Job($"j{i}")).ToList(), Now, None);
        var claims = await Task.WhenAll(Enumerable.Range(0, 12).Select(w => Task.Run(async () =>
        {
            var mine = new List<long>();
            while ((await Store.ClaimAsync("q", Monitored(max: 7, owner: $"w{w}"), Now, None)) is { Count: > 0 } batch)
            {
                Assert.True(batch.Count <= 7);
                mine.AddRange(batch.Select(j => j.JobId));
            }

            return mine;
        })));

        var all = claims.SelectMany(c => c).ToList();
        Assert.Equal(ids.Count, all.Count);
        Assert.Equal(ids.Order(), all.Order());
    }

    [Fact]
    public async Task Queues_are_isolated()
    {
        var ids = await Store.EnqueueAsync("a", [Job("in a")], Now, None);
        Assert.Empty(await Store.ClaimAsync("b", Monitored(), Now, None));
        Assert.Null(await Store.GetJobAsync("b", ids[0], None));
        var job = await ClaimOneAsync("a");
        Assert.Equal(JobUpdateOutcome.NotFound, await Store.CompleteAsync("b", job.JobId, job.LeaseToken, null, Now, None));
        Assert.Equal(JobState.Running, (await Store.GetJobAsync("a", job.JobId, None))!.State);
    }

    // ---- jobs: leases ----

    [Fact]
    public async Task Many_leases_renew_in_one_call_and_it_names_those_no_longer_held()
    {
        Assert.Empty(await Store.RenewLeasesAsync([], None));
        await Store.EnqueueAsync("q", [Job("kept"), Job("finished"), Job("stolen")], Now, None);
        await Store.EnqueueAsync("other", [Job("elsewhere")], Now, None);
        var jobs = await Store.ClaimAsync("q", Monitored(3), Now, None);
        var (kept, finished, stolen) = (jobs[0], jobs[1], jobs[2]);
        var elsewhere = await ClaimOneAsync("other");
        await Store.EnqueueAsync("plain", [Job("no lease")], Now, None);
        var plain = await ClaimOneAsync("plain", Unmonitored());
        Assert.Equal(JobUpdateOutcome.Updated, await Store.CompleteAsync("q", finished.JobId, finished.LeaseToken, null, Now, None));

        Clock.Advance(TimeSpan.FromSeconds(20));
        var until = Now + TimeSpan.FromSeconds(30);
        var notRenewed = await Store.RenewLeasesAsync(
        [
            new LeaseRenewal("q", kept.JobId, kept.LeaseToken, until),
            new LeaseRenewal("q", finished.JobId, finished.LeaseToken, until),
            new LeaseRenewal("q", stolen.JobId, Guid.NewGuid(), until),
            new LeaseRenewal("other", elsewhere.JobId, elsewhere.LeaseToken, until),
            new LeaseRenewal("plain", plain.JobId, plain.LeaseToken, until),
        ], None);
        Assert.Equal([finished.JobId, stolen.JobId, plain.JobId], notRenewed.Select(r => r.JobId).Order());
        Assert.Equal(until, (await Store.GetJobAsync("q", kept.JobId, None))!.LeaseExpiresAt);
        Assert.Equal(until, (await Store.GetJobAsync("other", elsewhere.JobId, None))!.LeaseExpiresAt);

        // Past the first lease: only the job whose renewal was refused comes back.
        Clock.Advance(TimeSpan.FromSeconds(15));
        Assert.Equal(1, await Store.RecoverExpiredLeasesAsync("q", Now, None));
        Assert.Equal(JobUpdateOutcome.LeaseLost, await Store.RenewLeaseAsync("q", stolen.JobId, stolen.LeaseToken, Now + TimeSpan.FromMinutes(1), None));
        Assert.Equal(JobUpdateOutcome.Updated, await Store.RenewLeaseAsync("q", kept.JobId, kept.LeaseToken, Now + TimeSpan.FromMinutes(1), None));
    }

    [Fact]
    public async Task Only_the_current_lease_token_can_renew_finish_fail_or_release()
    {
        await Store.EnqueueAsync("q", [Job("x")], Now, None);
        var job = await ClaimOneAsync("q");
        Assert.Equal((1, TimeSpan.FromSeconds(30), Now + TimeSpan.FromSeconds(30)), (job.Attempt, job.LeaseDuration!.Value, job.LeaseExpiresAt!.Value));

        var wrong = Guid.NewGuid();
        Assert.Equal(JobUpdateOutcome.LeaseLost, await Store.RenewLeaseAsync("q", job.JobId, wrong, Now, None));
        Assert.Equal(JobUpdateOutcome.LeaseLost, await Store.CompleteAsync("q", job.JobId, wrong, "r", Now, None));
        Assert.Equal(FailOutcome.LeaseLost, (await Store.FailAsync("q", job.JobId, wrong, "e", Backoff, Now, None)).Outcome);
        Assert.Equal(JobUpdateOutcome.LeaseLost, await Store.ReleaseAsync("q", job.JobId, wrong, Now, None));
        Assert.Equal(JobUpdateOutcome.NotFound, await Store.CompleteAsync("q", 999_999, job.LeaseToken, "r", Now, None));
        Assert.Equal(JobState.Running, (await Store.GetJobAsync("q", job.JobId, None))!.State);

        Assert.Equal(JobUpdateOutcome.Updated, await Store.RenewLeaseAsync("q", job.JobId, job.LeaseToken, Now + TimeSpan.FromMinutes(1), None));
        Assert.Equal(Now + TimeSpan.FromMinutes(1), (await Store.GetJobAsync("q", job.JobId, None))!.LeaseExpiresAt);
        Assert.Equal(JobUpdateOutcome.Updated, await Store.CompleteAsync("q", job.JobId, job.LeaseToken, "result", Now, None));
        Assert.Equal(JobUpdateOutcome.Updated, await Store.CompleteAsync("q", job.JobId, job.LeaseToken, "again", Now, None)); // a repeat: see below

        var info = await Store.GetJobAsync("q", job.JobId, None);
        Assert.Equal((JobState.Completed, "result", (DateTimeOffset?)Now), (info!.State, info.Result, info.FinishedAt));
        Assert.Equal(new QueueCounts(0, 0, 0, 1, 0), await Store.GetCountsAsync("q", Now, None));
    }

    [Fact]
    public async Task Completions_written_together_are_judged_one_by_one_on_their_own_token()
    {
        var ids = await Store.EnqueueAsync("q", Enumerable.Range(0, 6).Select(i => Job($"j{i}")).ToList(), Now, None);
        var held = await Store.ClaimAsync("q", Monitored(max: 6), Now, None);

        // Job 0 changes hands: its first holder's token goes stale while the second holder finishes at the same time.
        Clock.Advance(TimeSpan.FromSeconds(30));
        Assert.Equal(6, await Store.RecoverExpiredLeasesAsync("q", Now, None));
        var again = await Store.ClaimAsync("q", Monitored(max: 6, owner: "silo-b"), Now, None);
        var current = again.Single(j => j.JobId == ids[0]);
        var stale = held.Single(j => j.JobId == ids[0]);

        var outcomes = await Task.WhenAll(
            Store.CompleteAsync("q", stale.JobId, stale.LeaseToken, "stale", Now, None),
            Store.CompleteAsync("q", current.JobId, current.LeaseToken, "current", Now, None),
            Store.CompleteAsync("q", 987_654, Guid.NewGuid(), "unknown", Now, None),
            Store.CompleteAsync("q", again[1].JobId, again[1].LeaseToken, "ok 1", Now, None),
            Store.CompleteAsync("q", again[2].JobId, held.Single(j => j.JobId == again[2].JobId).LeaseToken, "stale 2", Now, None));

        Assert.Equal([JobUpdateOutcome.LeaseLost, JobUpdateOutcome.Updated, JobUpdateOutcome.NotFound, JobUpdateOutcome.Updated, JobUpdateOutcome.LeaseLost], outcomes);
        Assert.Equal("current", (await Store.GetJobAsync("q", ids[0], None))!.Result);
        Assert.Equal(JobState.Running, (await Store.GetJobAsync("q", again[2].JobId, None))!.State);
    }

    [Fact]
    public async Task An_expired_lease_returns_the_job_and_the_stale_holder_can_neither_renew_nor_finish()
    {
        await Store.EnqueueAsync("q", [Job("x", maxAttempts: 2)], Now, None);
        var first = await ClaimOneAsync("q");
        Clock.Advance(TimeSpan.FromSeconds(29));
        Assert.Equal(0, await Store.RecoverExpiredLeasesAsync("q", Now, None));

        Clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(1, await Store.RecoverExpiredLeasesAsync("q", Now, None));
        var returned = await Store.GetJobAsync("q", first.JobId, None);
        Assert.Equal(JobState.Available, returned!.State);
        Assert.Contains("lease expired", returned.LastError);

        var second = await ClaimOneAsync("q", Monitored(owner: "silo-b"));
        Assert.Equal((first.JobId, 2), (second.JobId, second.Attempt));
        Assert.Equal(JobUpdateOutcome.LeaseLost, await Store.RenewLeaseAsync("q", first.JobId, first.LeaseToken, Now + TimeSpan.FromMinutes(1), None));
        Assert.Equal(JobUpdateOutcome.LeaseLost, await Store.CompleteAsync("q", first.JobId, first.LeaseToken, "stale", Now, None));

        // The last attempt's lease expires too: the job is dead-lettered, not retried forever and not lost.
        Clock.Advance(TimeSpan.FromSeconds(30));
        Assert.Equal(1, await Store.RecoverExpiredLeasesAsync("q", Now, None));
        var dead = Assert.Single(await Store.GetDeadLettersAsync("q", 10, None));
        Assert.Equal((first.JobId, JobState.DeadLettered, 2), (dead.JobId, dead.State, dead.Attempt));
        Assert.Empty(await Store.ClaimAsync("q", Monitored(), Now, None));
    }

    [Fact]
    public async Task Unmonitored_claims_take_no_lease_and_are_never_recovered()
    {
        await Store.EnqueueAsync("q", [Job("fire and forget")], Now, None);
        var job = await ClaimOneAsync("q", Unmonitored());
        Assert.False(job.IsMonitored);
        Assert.Null(job.LeaseExpiresAt);
        Assert.Equal(JobUpdateOutcome.LeaseLost, await Store.RenewLeaseAsync("q", job.JobId, job.LeaseToken, Now, None));

        Clock.Advance(TimeSpan.FromDays(1));
        Assert.Equal(0, await Store.RecoverExpiredLeasesAsync("q", Now, None));
        Assert.Equal(0, await Store.RecoverJobsOfOwnerAsync("client-x", Now, None));
        Assert.Equal(JobState.Running, (await Store.GetJobAsync("q", job.JobId, None))!.State);
        Assert.Equal(JobUpdateOutcome.Updated, await Store.CompleteAsync("q", job.JobId, job.LeaseToken, null, Now, None));
    }

    [Fact]
    public async Task Recovering_a_dead_owner_returns_only_its_monitored_jobs_and_never_those_of_its_next_incarnation()
    {
        // Owners are Orleans silo addresses with their generation: a restarted silo is a new owner.
        const string deadIncarnation = "S127.0.0.1:11111:100";
        const string nextIncarnation = "S127.0.0.1:11111:200";
        await Store.EnqueueAsync("q1", [Job("a1"), Job("b1"), Job("c1")], Now, None);
        await Store.EnqueueAsync("q2", [Job("a2")], Now, None);
        var a1 = await ClaimOneAsync("q1", Monitored(owner: deadIncarnation));
        var b1 = await ClaimOneAsync("q1", Monitored(owner: "S127.0.0.1:22222:100"));
        var a2 = await ClaimOneAsync("q2", Monitored(owner: deadIncarnation));
        var rejoined = await ClaimOneAsync("q1", Monitored(owner: nextIncarnation));

        Assert.Equal(2, await Store.RecoverJobsOfOwnerAsync(deadIncarnation, Now, None));
        var back = (await Store.GetJobAsync("q1", a1.JobId, None))!;
        Assert.Equal((JobState.Available, (string?)null), (back.State, back.Owner));
        Assert.Contains(deadIncarnation, back.LastError);
        Assert.Equal(JobState.Available, (await Store.GetJobAsync("q2", a2.JobId, None))!.State);
        Assert.Equal(JobState.Running, (await Store.GetJobAsync("q1", b1.JobId, None))!.State);
        Assert.Equal(JobState.Running, (await Store.GetJobAsync("q1", rejoined.JobId, None))!.State);
        Assert.Equal(2, (await ClaimOneAsync("q2")).Attempt);

        // A late or repeated recovery (several silos see the death at once) changes nothing more.
        Assert.Equal(0, await Store.RecoverJobsOfOwnerAsync(deadIncarnation, Now, None));
        Assert.Equal(JobUpdateOutcome.LeaseLost, await Store.CompleteAsync("q1", a1.JobId, a1.LeaseToken, "late", Now, None));
        Assert.Equal(JobUpdateOutcome.Updated, await Store.CompleteAsync("q1", rejoined.JobId, rejoined.LeaseToken, "fine", Now, None));
    }

    // ---- jobs: settles repeated after they committed ----

    [Fact]
    public async Task A_finish_repeated_with_the_same_token_is_Updated_again_and_changes_nothing()
    {
        await Store.EnqueueAsync("q", [Job("x")], Now, None);
        var job = await ClaimOneAsync("q");
        Assert.Equal(JobUpdateOutcome.Updated, await Store.CompleteAsync("q", job.JobId, job.LeaseToken, "first", Now, None));
        Clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(JobUpdateOutcome.Updated, await Store.CompleteAsync("q", job.JobId, job.LeaseToken, "repeated", Now, None));

        var info = (await Store.GetJobAsync("q", job.JobId, None))!;
        Assert.Equal(("first", (DateTimeOffset?)(Now - TimeSpan.FromSeconds(1))), (info.Result, info.FinishedAt));
        Assert.Equal(new QueueCounts(0, 0, 0, 1, 0), await Store.GetCountsAsync("q", Now, None));

        // Only a finish is answered so: the finished job is no longer held for anything else.
        Assert.Equal(FailOutcome.LeaseLost, (await Store.FailAsync("q", job.JobId, job.LeaseToken, "late", Backoff, Now, None)).Outcome);
        Assert.Equal(JobUpdateOutcome.LeaseLost, await Store.RenewLeaseAsync("q", job.JobId, job.LeaseToken, Now + TimeSpan.FromMinutes(1), None));
        Assert.Equal(JobUpdateOutcome.LeaseLost, await Store.ReleaseAsync("q", job.JobId, job.LeaseToken, Now, None));
    }

    [Fact]
    public async Task A_finish_with_the_stale_token_of_an_earlier_attempt_still_loses_its_lease()
    {
        await Store.EnqueueAsync("q", [Job("x")], Now, None);
        var first = await ClaimOneAsync("q");
        Clock.Advance(TimeSpan.FromSeconds(30));
        Assert.Equal(1, await Store.RecoverExpiredLeasesAsync("q", Now, None));
        var second = await ClaimOneAsync("q", Monitored(owner: "silo-b"));

        Assert.Equal(JobUpdateOutcome.Updated, await Store.CompleteAsync("q", second.JobId, second.LeaseToken, "second", Now, None));
        Assert.Equal(JobUpdateOutcome.LeaseLost, await Store.CompleteAsync("q", first.JobId, first.LeaseToken, "first", Now, None));
        Assert.Equal(JobUpdateOutcome.Updated, await Store.CompleteAsync("q", second.JobId, second.LeaseToken, "second again", Now, None));
        Assert.Equal("second", (await Store.GetJobAsync("q", first.JobId, None))!.Result);
    }

    [Fact]
    public async Task A_fail_repeated_with_the_same_token_gets_the_first_outcome_until_the_job_is_claimed_again()
    {
        await Store.EnqueueAsync("q", [Job("x", maxAttempts: 2)], Now, None);
        var first = await ClaimOneAsync("q");
        var retry = await Store.FailAsync("q", first.JobId, first.LeaseToken, "boom", Backoff, Now, None);
        Assert.Equal(new FailResult(FailOutcome.WillRetry, Now + TimeSpan.FromSeconds(1)), retry);
        Assert.Equal(retry, await Store.FailAsync("q", first.JobId, first.LeaseToken, "boom again", Backoff, Now, None));
        Assert.Equal(JobUpdateOutcome.LeaseLost, await Store.CompleteAsync("q", first.JobId, first.LeaseToken, "not a finish", Now, None));
        var waiting = (await Store.GetJobAsync("q", first.JobId, None))!;
        Assert.Equal((JobState.Available, 1, "boom"), (waiting.State, waiting.Attempt, waiting.LastError));

        // Claimed again, the job belongs to the new attempt: the old token loses, the last attempt's repeat is answered.
        Clock.Advance(TimeSpan.FromSeconds(1));
        var second = await ClaimOneAsync("q");
        Assert.Equal(FailOutcome.LeaseLost, (await Store.FailAsync("q", first.JobId, first.LeaseToken, "stale", Backoff, Now, None)).Outcome);
        Assert.Equal(FailOutcome.DeadLettered, (await Store.FailAsync("q", second.JobId, second.LeaseToken, "boom", Backoff, Now, None)).Outcome);
        Assert.Equal(FailOutcome.DeadLettered, (await Store.FailAsync("q", second.JobId, second.LeaseToken, "boom again", Backoff, Now, None)).Outcome);
        Assert.Equal(FailOutcome.LeaseLost, (await Store.FailAsync("q", first.JobId, first.LeaseToken, "stale", Backoff, Now, None)).Outcome);
        Assert.Equal(JobUpdateOutcome.LeaseLost, await Store.CompleteAsync("q", second.JobId, second.LeaseToken, "not a finish", Now, None));
        Assert.Equal("boom", Assert.Single(await Store.GetDeadLettersAsync("q", 10, None)).LastError);
    }

    [Fact]
    public async Task A_job_lost_with_its_worker_is_never_answered_as_settled_by_that_worker()
    {
        await Store.EnqueueAsync("q", [Job("x", maxAttempts: 1)], Now, None);
        var job = await ClaimOneAsync("q");
        Clock.Advance(TimeSpan.FromSeconds(30));
        Assert.Equal(1, await Store.RecoverExpiredLeasesAsync("q", Now, None)); // dead-lettered: its only attempt was lost
        Assert.Equal(FailOutcome.LeaseLost, (await Store.FailAsync("q", job.JobId, job.LeaseToken, "late", Backoff, Now, None)).Outcome);
        Assert.Equal(JobUpdateOutcome.LeaseLost, await Store.CompleteAsync("q", job.JobId, job.LeaseToken, "late", Now, None));
    }

    // ---- jobs: claims whose answer was lost ----

    [Fact]
    public async Task A_resumed_claim_returns_what_the_lost_claim_took_with_fresh_leases_and_attempts_counted_once()
    {
        var ids = await Store.EnqueueAsync("q", [Job("a"), Job("b"), Job("c")], Now, None);
        var lost = await Store.ClaimAsync("q", Monitored(max: 2) with { ClaimId = ClaimIdA }, Now, None); // its answer never arrives

        Clock.Advance(TimeSpan.FromSeconds(10));
        var resumed = await Store.ClaimAsync("q", Monitored(max: 2) with { ClaimId = ClaimIdA, Resume = true }, Now, None);
        Assert.Equal(lost.Select(j => (j.JobId, j.LeaseToken, j.Attempt)), resumed.Select(j => (j.JobId, j.LeaseToken, j.Attempt)));
        Assert.Equal([ids[0], ids[1]], resumed.Select(j => j.JobId));
        Assert.All(resumed, j => Assert.Equal(Now + TimeSpan.FromSeconds(30), j.LeaseExpiresAt));
        Assert.Equal(new QueueCounts(1, 0, 2, 0, 0), await Store.GetCountsAsync("q", Now, None));

        // The resumed jobs are held as claimed: finishing one leaves the other for the next resume.
        Assert.Equal(JobUpdateOutcome.Updated, await Store.CompleteAsync("q", resumed[0].JobId, resumed[0].LeaseToken, null, Now, None));
        var again = await Store.ClaimAsync("q", Monitored(max: 2) with { ClaimId = ClaimIdA, Resume = true }, Now, None);
        Assert.Equal([(ids[1], 1)], again.Select(j => (j.JobId, j.Attempt)));
    }

    [Fact]
    public async Task A_resumed_claim_keeps_at_most_its_MaxJobs_and_gives_the_rest_back_uncounted()
    {
        var ids = await Store.EnqueueAsync("q", [Job("a"), Job("b", priority: 1), Job("c")], Now, None);
        await Store.ClaimAsync("q", Monitored(max: 3) with { ClaimId = ClaimIdA }, Now, None);
        using var subscription = Store.SubscribeAvailability("q");

        var resumed = Assert.Single(await Store.ClaimAsync("q", Monitored(max: 1) with { ClaimId = ClaimIdA, Resume = true }, Now, None));
        Assert.Equal(ids[1], resumed.JobId); // claim order: the higher priority first
        Assert.True(await subscription.WaitAsync(TimeSpan.FromSeconds(5), TimeProvider.System, None)); // the given-back jobs are announced
        foreach (var id in new[] { ids[0], ids[2] })
        {
            var back = (await Store.GetJobAsync("q", id, None))!;
            Assert.Equal((JobState.Available, 0, (string?)null), (back.State, back.Attempt, back.Owner));
        }

        Assert.Equal([(ids[0], 1), (ids[2], 1)], (await Store.ClaimAsync("q", Monitored(max: 5), Now, None)).Select(j => (j.JobId, j.Attempt)));
    }

    [Fact]
    public async Task A_resumed_claim_that_took_nothing_claims_as_usual_and_only_a_resume_looks_back()
    {
        var ids = await Store.EnqueueAsync("q", [Job("a"), Job("b"), Job("c")], Now, None);
        var first = Assert.Single(await Store.ClaimAsync("q", Monitored() with { ClaimId = ClaimIdA }, Now, None));
        Assert.Equal(ids[0], first.JobId);

        // The same id without Resume claims afresh; a resume of a claim id that holds nothing claims as usual.
        Assert.Equal(ids[1], Assert.Single(await Store.ClaimAsync("q", Monitored() with { ClaimId = ClaimIdA }, Now, None)).JobId);
        Assert.Equal(ids[2], Assert.Single(await Store.ClaimAsync("q", Monitored() with { ClaimId = ClaimIdB, Resume = true }, Now, None)).JobId);

        // A job the lost claim took that was recovered meanwhile is not its to resume any more.
        Clock.Advance(TimeSpan.FromSeconds(30));
        Assert.Equal(3, await Store.RecoverExpiredLeasesAsync("q", Now, None));
        var resumed = await Store.ClaimAsync("q", Monitored(max: 3) with { ClaimId = ClaimIdA, Resume = true }, Now, None);
        Assert.Equal(ids, resumed.Select(j => j.JobId));
        Assert.All(resumed, j => Assert.Equal(2, j.Attempt)); // claimed anew: the lost attempt counted
    }

    // ---- jobs: listing and lost unmonitored work ----

    [Fact]
    public async Task Jobs_are_listed_by_state_in_pages_by_id()
    {
        var first = await Store.EnqueueAsync("q", [Job("running"), Job("completed"), Job("dead", maxAttempts: 1)], Now, None);
        var claimed = await Store.ClaimAsync("q", Monitored(max: 3), Now, None);
        Assert.Equal(JobUpdateOutcome.Updated, await Store.CompleteAsync("q", claimed[1].JobId, claimed[1].LeaseToken, "result", Now, None));
        Assert.Equal(FailOutcome.DeadLettered, (await Store.FailAsync("q", claimed[2].JobId, claimed[2].LeaseToken, "boom", Backoff, Now, None)).Outcome);
        var later = await Store.EnqueueAsync("q", [Job("scheduled", visibleAt: Now + TimeSpan.FromSeconds(10)), Job("available 1"), Job("available 2")], Now, None);
        await Store.EnqueueAsync("other", [Job("elsewhere")], Now, None);

        async Task<IReadOnlyList<long>> ListAsync(JobListState state, long after = 0, int limit = 10) =>
            [.. (await Store.ListJobsAsync("q", state, after, limit, Now, None)).Select(j => j.JobId)];

        Assert.Equal([later[1], later[2]], await ListAsync(JobListState.Available));
        Assert.Equal([later[1]], await ListAsync(JobListState.Available, limit: 1));
        Assert.Equal([later[2]], await ListAsync(JobListState.Available, after: later[1], limit: 1));
        Assert.Empty(await ListAsync(JobListState.Available, after: later[2], limit: 1));
        Assert.Equal([later[0]], await ListAsync(JobListState.Scheduled));
        Assert.Equal([first[1]], await ListAsync(JobListState.Completed));
        Assert.Equal([first[2]], await ListAsync(JobListState.DeadLettered));

        var running = Assert.Single(await Store.ListJobsAsync("q", JobListState.Running, 0, 10, Now, None));
        Assert.Equal((first[0], JobState.Running, "silo-a", (DateTimeOffset?)(Now + TimeSpan.FromSeconds(30))), (running.JobId, running.State, running.Owner, running.LeaseExpiresAt));
        Assert.Equal("result", Assert.Single(await Store.ListJobsAsync("q", JobListState.Completed, 0, 10, Now, None)).Result);

        Clock.Advance(TimeSpan.FromSeconds(10)); // the delayed job is due: it is listed as available now
        Assert.Equal([later[0], later[1], later[2]], await ListAsync(JobListState.Available));
        Assert.Empty(await ListAsync(JobListState.Scheduled));
    }

    [Fact]
    public async Task Unmonitored_jobs_of_a_gone_owner_are_listed_without_a_lease_and_can_be_expired()
    {
        var ids = await Store.EnqueueAsync("q", [Job("retried", maxAttempts: 2), Job("last attempt", maxAttempts: 1), Job("other owner"), Job("monitored")], Now, None);
        var gone = await Store.ClaimAsync("q", Unmonitored(max: 2), Now, None);
        await Store.ClaimAsync("q", new JobClaim(1, null, "client-y"), Now, None);
        await Store.ClaimAsync("q", new JobClaim(1, TimeSpan.FromSeconds(30), "client-x"), Now, None);

        var running = await Store.ListJobsAsync("q", JobListState.Running, 0, 10, Now, None);
        Assert.Equal([(ids[0], "client-x", false), (ids[1], "client-x", false), (ids[2], "client-y", false), (ids[3], "client-x", true)],
            running.Select(j => (j.JobId, j.Owner!, j.LeaseExpiresAt is not null)));

        Assert.Equal(2, await Store.ExpireUnmonitoredJobsAsync("q", "client-x", Now, None));
        var retried = (await Store.GetJobAsync("q", ids[0], None))!;
        Assert.Equal((JobState.Available, 1, (string?)null), (retried.State, retried.Attempt, retried.Owner));
        Assert.Contains("client-x", retried.LastError);
        Assert.Contains("client-x", Assert.Single(await Store.GetDeadLettersAsync("q", 10, None)).LastError);
        Assert.Equal([ids[2], ids[3]], (await Store.ListJobsAsync("q", JobListState.Running, 0, 10, Now, None)).Select(j => j.JobId));

        Assert.Equal(0, await Store.ExpireUnmonitoredJobsAsync("q", "client-x", Now, None));
        Assert.Equal(0, await Store.ExpireUnmonitoredJobsAsync("other", "client-y", Now, None));
        Assert.Equal(JobUpdateOutcome.LeaseLost, await Store.CompleteAsync("q", gone[0].JobId, gone[0].LeaseToken, "late", Now, None));
        Assert.Equal((ids[0], 2), (Assert.Single(await Store.ClaimAsync("q", Monitored(), Now, None)).JobId, 2));
    }

    [Fact]
    public async Task A_batch_send_is_all_or_none_and_keeps_its_order()
    {
        var ids = await Store.EnqueueAsync("q", [Job("one"), Job("two"), Job("three")], Now, None);
        Assert.Equal(3, ids.Count);
        Assert.True(ids[0] < ids[1] && ids[1] < ids[2]);
        var claimed = await Store.ClaimAsync("q", Monitored(max: 10), Now, None);
        Assert.Equal(["one", "two", "three"], claimed.Select(c => c.Payload));
    }

    [Fact]
    public async Task Dead_letters_are_listed_oldest_first_up_to_the_limit_and_requeue_gives_fresh_attempts()
    {
        var ids = await Store.EnqueueAsync("q", [Job("first", maxAttempts: 1), Job("second", maxAttempts: 1), Job("third", maxAttempts: 1)], Now, None);
        foreach (var id in ids)
        {
            var job = await ClaimOneAsync("q");
            Assert.Equal(id, job.JobId);
            Assert.Equal(FailOutcome.DeadLettered, (await Store.FailAsync("q", job.JobId, job.LeaseToken, $"boom {job.Payload}", Backoff, Now, None)).Outcome);
            Clock.Advance(TimeSpan.FromSeconds(1));
        }

        Assert.Equal(["first", "second"], (await Store.GetDeadLettersAsync("q", 2, None)).Select(j => j.Payload));
        Assert.Equal(3, (await Store.GetDeadLettersAsync("q", 100, None)).Count);
        Assert.Empty(await Store.GetDeadLettersAsync("other", 100, None));
        Assert.Equal(JobUpdateOutcome.NotFound, await Store.RequeueDeadLetterAsync("q", 999_999, Now, None));

        Assert.Equal(JobUpdateOutcome.Updated, await Store.RequeueDeadLetterAsync("q", ids[1], Now, None));
        var again = await ClaimOneAsync("q");
        Assert.Equal((ids[1], 1), (again.JobId, again.Attempt));
        Assert.Equal(["first", "third"], (await Store.GetDeadLettersAsync("q", 100, None)).Select(j => j.Payload));
    }

    [Fact]
    public async Task Purging_deletes_only_the_named_dead_letters_of_the_queue_and_never_other_jobs()
    {
        var dead = await DeadLettersAsync("q", "dead-1", "dead-2", "dead-3");
        var otherQueueDead = (await DeadLettersAsync("other", "dead elsewhere"))[0];
        var ids = await Store.EnqueueAsync("q", [Job("done"), Job("running"), Job("waiting")], Now, None);
        var done = await ClaimOneAsync("q");
        await Store.CompleteAsync("q", done.JobId, done.LeaseToken, "ok", Now, None);
        var running = await ClaimOneAsync("q");
        Assert.Equal((ids[0], ids[1]), (done.JobId, running.JobId));

        // Named ids: only those that are dead letters of this queue go; the others (another state, another queue, no job) stay.
        Assert.Equal(1, await Store.PurgeDeadLettersAsync("q", [dead[1], dead[1], ids[0], ids[1], ids[2], otherQueueDead, 999_999], None));
        Assert.Null(await Store.GetJobAsync("q", dead[1], None));
        Assert.Equal([dead[0], dead[2]], (await Store.GetDeadLettersAsync("q", 100, None)).Select(j => j.JobId));
        Assert.Equal(JobState.Completed, (await Store.GetJobAsync("q", ids[0], None))!.State);
        Assert.Equal(JobState.Running, (await Store.GetJobAsync("q", ids[1], None))!.State);
        Assert.Equal(JobState.Available, (await Store.GetJobAsync("q", ids[2], None))!.State);
        Assert.Equal(JobState.DeadLettered, (await Store.GetJobAsync("other", otherQueueDead, None))!.State);
        Assert.Equal(0, await Store.PurgeDeadLettersAsync("q", [dead[1]], None)); // already gone

        // Bad input is refused naming the field, and nothing is deleted.
        foreach (var bad in new IReadOnlyList<long>[] { [], [dead[0], 0], [-1], Enumerable.Range(1, QueueLimits.MaxPurgeJobIds + 1).Select(i => (long)i).ToArray() })
        {
            var refused = await Assert.ThrowsAnyAsync<ArgumentException>(() => Store.PurgeDeadLettersAsync("q", bad, None));
            Assert.Equal("jobIds", refused.ParamName);
            Assert.StartsWith("jobIds", refused.Message);
        }

        Assert.Equal(2, (await Store.GetDeadLettersAsync("q", 100, None)).Count);

        // All of the queue's dead letters: the running, completed and waiting jobs and the other queue's dead letter stay.
        Assert.Equal(2, await Store.PurgeDeadLettersAsync("q", null, None));
        Assert.Empty(await Store.GetDeadLettersAsync("q", 100, None));
        Assert.Equal(new QueueCounts(1, 0, 1, 1, 0), await Store.GetCountsAsync("q", Now, None));
        Assert.Equal(new QueueCounts(0, 0, 0, 0, 1), await Store.GetCountsAsync("other", Now, None));
        Assert.Equal(0, await Store.PurgeDeadLettersAsync("q", null, None));
        Assert.Equal(JobUpdateOutcome.Updated, await Store.CompleteAsync("q", running.JobId, running.LeaseToken, "ok", Now, None)); // still held
    }

    [Fact]
    public async Task Finished_jobs_are_pruned_after_their_retention_and_nothing_else_is()
    {
        var ids = await Store.EnqueueAsync("q", [Job("done early"), Job("dead early", maxAttempts: 1), Job("done late"), Job("waiting")], Now, None);
        var early = await ClaimOneAsync("q");
        await Store.CompleteAsync("q", early.JobId, early.LeaseToken, "ok", Now, None);
        var dead = await ClaimOneAsync("q");
        await Store.FailAsync("q", dead.JobId, dead.LeaseToken, "boom", Backoff, Now, None);
        Clock.Advance(TimeSpan.FromHours(2));
        var late = await ClaimOneAsync("q");
        await Store.CompleteAsync("q", late.JobId, late.LeaseToken, "ok", Now, None);

        // Completed before now-1h go; dead letters are kept longer (before now-3h: none).
        Assert.Equal(1, await Store.PruneFinishedAsync("q", Now - TimeSpan.FromHours(1), Now - TimeSpan.FromHours(3), None));
        Assert.Null(await Store.GetJobAsync("q", ids[0], None));
        Assert.Equal(JobState.DeadLettered, (await Store.GetJobAsync("q", ids[1], None))!.State);
        Assert.Equal(JobState.Completed, (await Store.GetJobAsync("q", ids[2], None))!.State);
        Assert.Equal(JobState.Available, (await Store.GetJobAsync("q", ids[3], None))!.State);

        Assert.Equal(1, await Store.PruneFinishedAsync("q", Now - TimeSpan.FromHours(1), Now - TimeSpan.FromHours(1), None));
        Assert.Null(await Store.GetJobAsync("q", ids[1], None));
        Assert.Equal(new QueueCounts(1, 0, 0, 1, 0), await Store.GetCountsAsync("q", Now, None));
    }

    [Fact]
    public async Task Failures_retry_after_a_growing_backoff_then_go_to_the_dead_letter_list()
    {
        var id = (await Store.EnqueueAsync("q", [Job("flaky", maxAttempts: 3)], Now, None))[0];
        var one = await ClaimOneAsync("q");
        var failed = await Store.FailAsync("q", id, one.LeaseToken, "boom 1", Backoff, Now, None);
        Assert.Equal(new FailResult(FailOutcome.WillRetry, Now + TimeSpan.FromSeconds(1)), failed);
        Assert.Empty(await Store.ClaimAsync("q", Monitored(), Now, None));

        Clock.Advance(TimeSpan.FromSeconds(1));
        var two = await ClaimOneAsync("q");
        Assert.Equal(2, two.Attempt);
        Assert.Equal(new FailResult(FailOutcome.WillRetry, Now + TimeSpan.FromSeconds(2)), await Store.FailAsync("q", id, two.LeaseToken, "boom 2", Backoff, Now, None));

        Clock.Advance(TimeSpan.FromSeconds(2));
        var three = await ClaimOneAsync("q");
        Assert.Equal(FailOutcome.DeadLettered, (await Store.FailAsync("q", id, three.LeaseToken, "boom 3", Backoff, Now, None)).Outcome);

        var dead = Assert.Single(await Store.GetDeadLettersAsync("q", 10, None));
        Assert.Equal((id, "boom 3", 3, "flaky"), (dead.JobId, dead.LastError, dead.Attempt, dead.Payload));
        Assert.Equal(new QueueCounts(0, 0, 0, 0, 1), await Store.GetCountsAsync("q", Now, None));

        Assert.Equal(JobUpdateOutcome.Updated, await Store.RequeueDeadLetterAsync("q", id, Now, None));
        Assert.Equal(JobUpdateOutcome.LeaseLost, await Store.RequeueDeadLetterAsync("q", id, Now, None));
        Assert.Equal(1, (await ClaimOneAsync("q")).Attempt);
    }

    [Fact]
    public async Task A_priority_drop_puts_a_failed_jobs_retry_behind_all_fresh_work_without_leaving_the_priority_range()
    {
        var drop = new RetryBackoff(TimeSpan.Zero, TimeSpan.Zero, QueueLimits.MaxPriority);
        await Store.EnqueueAsync("q", [Job("fails", priority: 5, maxAttempts: 5), Job("fresh-a", priority: 1), Job("fresh-b", priority: 1)], Now, None);
        var failing = await ClaimOneAsync("q");
        Assert.Equal("fails", failing.Payload);
        Assert.Equal(FailOutcome.WillRetry, (await Store.FailAsync("q", failing.JobId, failing.LeaseToken, "boom", drop, Now, None)).Outcome);
        Assert.Equal(5 - QueueLimits.MaxPriority, (await Store.GetJobAsync("q", failing.JobId, None))!.Priority);

        var order = await Store.ClaimAsync("q", Monitored(max: 10), Now, None);
        Assert.Equal(["fresh-a", "fresh-b", "fails"], order.Select(j => j.Payload));

        // A second drop stops at the lowest priority instead of overflowing.
        var retry = order[^1];
        await Store.FailAsync("q", retry.JobId, retry.LeaseToken, "boom again", drop, Now, None);
        Assert.Equal(QueueLimits.MinPriority, (await Store.GetJobAsync("q", retry.JobId, None))!.Priority);
    }

    [Fact]
    public async Task A_released_job_is_available_again_without_counting_the_attempt()
    {
        await Store.EnqueueAsync("q", [Job("x")], Now, None);
        var job = await ClaimOneAsync("q");
        Assert.Equal(JobUpdateOutcome.Updated, await Store.ReleaseAsync("q", job.JobId, job.LeaseToken, Now, None));
        Assert.Equal(1, (await ClaimOneAsync("q")).Attempt);
    }

    [Fact]
    public async Task Every_claim_gives_each_job_its_own_token_and_a_job_claimed_again_a_new_one()
    {
        await Store.EnqueueAsync("q", [Job("a"), Job("b"), Job("c")], Now, None);
        var first = await Store.ClaimAsync("q", Monitored(max: 3), Now, None);
        Assert.Equal(3, first.Select(j => j.LeaseToken).Distinct().Count());
        Assert.DoesNotContain(Guid.Empty, first.Select(j => j.LeaseToken));

        foreach (var job in first) Assert.Equal(JobUpdateOutcome.Updated, await Store.ReleaseAsync("q", job.JobId, job.LeaseToken, Now, None));
        var again = await Store.ClaimAsync("q", Monitored(max: 3), Now, None);
        Assert.Empty(again.Select(j => j.LeaseToken).Intersect(first.Select(j => j.LeaseToken)));
        Assert.Equal(JobUpdateOutcome.LeaseLost, await Store.CompleteAsync("q", first[0].JobId, first[0].LeaseToken, null, Now, None));
    }

    [Fact]
    public async Task A_job_given_back_keeps_its_place_ahead_of_later_sends()
    {
        await Store.EnqueueAsync("q", [Job("first"), Job("second")], Now, None);
        var first = await ClaimOneAsync("q");
        Clock.Advance(TimeSpan.FromMilliseconds(1));
        await Store.EnqueueAsync("q", [Job("third"), Job("expedited", front: true)], Now, None);
        Assert.Equal(JobUpdateOutcome.Updated, await Store.ReleaseAsync("q", first.JobId, first.LeaseToken, Now, None));

        Assert.Equal(["expedited", "first", "second", "third"], (await Store.ClaimAsync("q", Monitored(max: 10), Now, None)).Select(j => j.Payload));
    }

    [Fact]
    public async Task A_retry_that_becomes_visible_takes_its_place_by_its_visible_time_among_sends()
    {
        var backoff = new RetryBackoff(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
        await Store.EnqueueAsync("q", [Job("retried")], Now, None);
        var retried = await ClaimOneAsync("q");
        await Store.FailAsync("q", retried.JobId, retried.LeaseToken, "boom", backoff, Now, None); // visible again in 1 s
        await Store.EnqueueAsync("q", [Job("before it")], Now, None);
        Clock.Advance(TimeSpan.FromSeconds(2));
        await Store.EnqueueAsync("q", [Job("after it")], Now, None);

        Assert.Equal(["before it", "retried", "after it"], (await Store.ClaimAsync("q", Monitored(max: 10), Now, None)).Select(j => j.Payload));
    }

    [Fact]
    public async Task A_batch_of_completions_answers_each_job_as_one_completion_would()
    {
        await Store.EnqueueAsync("q", [Job("a"), Job("b"), Job("c")], Now, None);
        var claimed = await Store.ClaimAsync("q", Monitored(max: 3), Now, None);
        Assert.Equal(JobUpdateOutcome.Updated, await Store.CompleteAsync("q", claimed[2].JobId, claimed[2].LeaseToken, "alone", Now, None));

        var outcomes = await Store.CompleteManyAsync("q",
        [
            new JobCompletion(claimed[0].JobId, claimed[0].LeaseToken, "batched"),
            new JobCompletion(claimed[1].JobId, Guid.NewGuid(), "forged"),
            new JobCompletion(999_999, claimed[1].LeaseToken, null),
            new JobCompletion(claimed[2].JobId, claimed[2].LeaseToken, "repeated"), // already settled by this token: answered as before
        ], Now, None);

        Assert.Equal([JobUpdateOutcome.Updated, JobUpdateOutcome.LeaseLost, JobUpdateOutcome.NotFound, JobUpdateOutcome.Updated], outcomes);
        Assert.Equal((JobState.Completed, "batched"), await StateAndResultAsync(claimed[0].JobId));
        Assert.Equal((JobState.Running, null), await StateAndResultAsync(claimed[1].JobId));
        Assert.Equal((JobState.Completed, "alone"), await StateAndResultAsync(claimed[2].JobId));
        Assert.Equal(new QueueCounts(0, 0, 1, 2, 0), await Store.GetCountsAsync("q", Now, None));
        Assert.Empty(await Store.CompleteManyAsync("q", [], Now, None));

        async Task<(JobState, string?)> StateAndResultAsync(long id) => (await Store.GetJobAsync("q", id, None)) is { } job ? (job.State, job.Result) : default;
    }

    [Fact]
    public async Task A_batch_that_pairs_each_job_with_another_jobs_token_completes_neither_and_loses_nothing()
    {
        await Store.EnqueueAsync("q", [Job("a"), Job("b"), Job("c")], Now, None);
        var claimed = await Store.ClaimAsync("q", Monitored(max: 3), Now, None);

        // Every id and every token of the batch is a held job's, but no pair is: a holder that named the wrong job.
        var outcomes = await Store.CompleteManyAsync("q",
        [
            new JobCompletion(claimed[0].JobId, claimed[1].LeaseToken, "crossed"),
            new JobCompletion(claimed[1].JobId, claimed[0].LeaseToken, "crossed"),
            new JobCompletion(claimed[2].JobId, claimed[2].LeaseToken, "right"),
        ], Now, None);

        Assert.Equal([JobUpdateOutcome.LeaseLost, JobUpdateOutcome.LeaseLost, JobUpdateOutcome.Updated], outcomes);
        Assert.Equal(new QueueCounts(0, 0, 2, 1, 0), await Store.GetCountsAsync("q", Now, None));
        foreach (var job in claimed.Take(2))
        {
            Assert.Equal(JobState.Running, (await Store.GetJobAsync("q", job.JobId, None))!.State);
            Assert.Equal(JobUpdateOutcome.Updated, await Store.CompleteAsync("q", job.JobId, job.LeaseToken, "own", Now, None));
        }

        Assert.Equal(new QueueCounts(0, 0, 0, 3, 0), await Store.GetCountsAsync("q", Now, None));
    }

    [Fact]
    public async Task A_batch_naming_a_job_twice_with_its_token_completes_it_once_and_answers_both()
    {
        await Store.EnqueueAsync("q", [Job("a"), Job("b")], Now, None);
        var claimed = await Store.ClaimAsync("q", Monitored(max: 2), Now, None);

        var outcomes = await Store.CompleteManyAsync("q",
        [
            new JobCompletion(claimed[0].JobId, claimed[0].LeaseToken, "first"),
            new JobCompletion(claimed[1].JobId, claimed[1].LeaseToken, null),
            new JobCompletion(claimed[0].JobId, claimed[0].LeaseToken, "first"),
        ], Now, None);

        Assert.Equal([JobUpdateOutcome.Updated, JobUpdateOutcome.Updated, JobUpdateOutcome.Updated], outcomes);
        Assert.Equal("first", (await Store.GetJobAsync("q", claimed[0].JobId, None))!.Result);
        Assert.Equal(new QueueCounts(0, 0, 0, 2, 0), await Store.GetCountsAsync("q", Now, None));
    }

    [Fact]
    public async Task Backoff_doubles_per_attempt_and_is_capped()
    {
        var backoff = new RetryBackoff(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(5));
        Assert.Equal([1, 2, 4, 5, 5], new[] { 1, 2, 3, 4, 40 }.Select(a => backoff.DelayAfter(a).TotalSeconds));
    }

    // ---- availability signals ----

    [Fact]
    public async Task A_subscription_wakes_on_a_send_and_times_out_on_the_given_clock()
    {
        using var subscription = Store.SubscribeAvailability("q");
        var waiting = subscription.WaitAsync(TimeSpan.FromHours(1), Clock, None);
        await Store.EnqueueAsync("q", [Job("wake up")], Now, None);
        Assert.True(await Eventually.WithinAsync(waiting, "the subscription to wake on a send"));

        using var other = Store.SubscribeAvailability("quiet");
        using var busy = Store.SubscribeAvailability("q");
        var idle = other.WaitAsync(TimeSpan.FromSeconds(10), Clock, None);
        await Store.EnqueueAsync("q", [Job("not for quiet")], Now, None);
        Assert.True(await Eventually.WithinAsync(busy.WaitAsync(TimeSpan.FromHours(1), Clock, None), "the signal for q")); // delivered by now
        Assert.False(idle.IsCompleted);
        Clock.Advance(TimeSpan.FromSeconds(10));
        Assert.False(await Eventually.WithinAsync(idle, "the idle subscription to time out"));
    }

    [Fact]
    public async Task A_signal_between_subscribing_and_waiting_is_not_lost()
    {
        using var subscription = Store.SubscribeAvailability("q");
        await Store.EnqueueAsync("q", [Job("early")], Now, None);
        Assert.True(await subscription.WaitAsync(TimeSpan.FromHours(1), Clock, None));
    }
}
