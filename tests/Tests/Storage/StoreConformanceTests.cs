using Orleans.Jobs.Runtime;
using Orleans.Jobs.Runtime.Jobs;
using Orleans.Jobs.Runtime.Membership;
using Orleans.Jobs.Runtime.Reminders;
using Orleans.Jobs.Silo.Testing;

namespace Orleans.Jobs.Tests.Storage;

/// <summary>
/// The contract every <see cref="IClusterStore"/> provider must meet. A provider's test class derives from this
/// and supplies a fresh, empty store; every test here then runs against it.
/// </summary>
public abstract class StoreConformanceTests : IAsyncLifetime
{
    private static readonly RetryBackoff Backoff = new(TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(1));
    private static readonly CancellationToken None = CancellationToken.None;

    protected ManualTimeProvider Clock { get; } = new();
    protected IClusterStore Store { get; private set; } = null!;
    private DateTimeOffset Now => Clock.GetUtcNow();

    /// <summary>Creates an empty store for one test.</summary>
    protected abstract Task<IClusterStore> CreateStoreAsync();

    public async ValueTask InitializeAsync() => Store = await CreateStoreAsync();

    public virtual ValueTask DisposeAsync() => (Store as IAsyncDisposable)?.DisposeAsync() ?? ValueTask.CompletedTask;

    private static NewJob Job(string payload, int priority = 0, bool front = false, int maxAttempts = 3, DateTimeOffset? visibleAt = null) =>
        new(payload, priority, visibleAt, front, maxAttempts);

    private static JobClaim Monitored(int max = 1, string owner = "silo-a") => new(max, TimeSpan.FromSeconds(30), owner);

    private static JobClaim Unmonitored(int max = 1) => new(max, null, "client-x");

    private async Task<ClaimedJob> ClaimOneAsync(string queue, JobClaim? claim = null) =>
        Assert.Single(await Store.ClaimAsync(queue, claim ?? Monitored(), Now, None));

    // ---- grain state ----

    [Fact]
    public async Task State_is_versioned_and_a_stale_write_fails_without_changing_it()
    {
        var grain = new GrainId("test", "g1");
        Assert.Null(await Store.ReadStateAsync(grain, None));

        var v1 = await Store.WriteStateAsync(grain, """{"n":1}""", 0, None);
        var v2 = await Store.WriteStateAsync(grain, """{"n":2}""", v1, None);
        Assert.True(v2 > v1);

        var stale = await Assert.ThrowsAsync<InconsistentStateException>(() => Store.WriteStateAsync(grain, """{"n":3}""", v1, None));
        Assert.Equal(v1, stale.ExpectedVersion);
        Assert.Equal(v2, stale.StoredVersion);
        var stored = await Store.ReadStateAsync(grain, None);
        Assert.Equal(("""{"n":2}""", v2), (stored!.Json, stored.Version));

        await Assert.ThrowsAsync<InconsistentStateException>(() => Store.ClearStateAsync(grain, v1, None));
        await Store.ClearStateAsync(grain, v2, None);
        Assert.Null(await Store.ReadStateAsync(grain, None));
        await Assert.ThrowsAsync<InconsistentStateException>(() => Store.WriteStateAsync(new GrainId("test", "g2"), "{}", 5, None));
    }

    [Fact]
    public async Task A_turn_waits_until_the_previous_turn_on_the_same_grain_ends()
    {
        var grain = new GrainId("test", "turns");
        var first = await Store.AcquireTurnAsync(grain, None);
        var second = Store.AcquireTurnAsync(grain, None);
        var other = await Eventually.WithinAsync(Store.AcquireTurnAsync(new GrainId("test", "other"), None), "a turn on another grain");
        await other.DisposeAsync();

        // The second turn must still be waiting while the first is held.
        var early = await Task.WhenAny(second, Task.Delay(200, TestContext.Current.CancellationToken));
        Assert.NotSame(second, early);

        await first.DisposeAsync();
        await using var _ = await Eventually.WithinAsync(second, "the second turn after the first ended");
    }

    // ---- reminders ----

    [Fact]
    public async Task Each_due_reminder_tick_is_handed_out_once_and_missed_ticks_are_skipped()
    {
        var grain = new GrainId("test", "r");
        var start = Now + TimeSpan.FromSeconds(10);
        await Store.UpsertReminderAsync(new ReminderEntry(grain, "tick", start, TimeSpan.FromSeconds(10), start), None);
        Assert.Empty(await Store.ClaimDueRemindersAsync(Now, 10, None));

        Clock.Advance(TimeSpan.FromSeconds(10));
        var claims = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Store.ClaimDueRemindersAsync(Now, 10, None)));
        var tick = Assert.Single(claims.SelectMany(c => c));
        Assert.Equal(start, tick.TickTime);
        Assert.Equal(new TickStatus(start, TimeSpan.FromSeconds(10), start), tick.Status);

        Clock.Advance(TimeSpan.FromSeconds(35)); // three ticks missed: one is delivered, the schedule moves past now
        var late = Assert.Single(await Store.ClaimDueRemindersAsync(Now, 10, None));
        Assert.Equal(start + TimeSpan.FromSeconds(10), late.TickTime);
        var next = await Store.GetReminderAsync(grain, "tick", None);
        Assert.Equal(start + TimeSpan.FromSeconds(40), next!.NextTickAt);

        Assert.True(await Store.RemoveReminderAsync(grain, "tick", None));
        Assert.False(await Store.RemoveReminderAsync(grain, "tick", None));
        Clock.Advance(TimeSpan.FromMinutes(5));
        Assert.Empty(await Store.ClaimDueRemindersAsync(Now, 10, None));
    }

    // ---- membership ----

    [Fact]
    public async Task Silos_that_stop_heartbeating_are_declared_dead_once_and_cannot_heartbeat_again()
    {
        await Store.RegisterSiloAsync(new SiloRecord("a", "n1", null, SiloStatus.Active, Now, Now), None);
        await Store.RegisterSiloAsync(new SiloRecord("b", "n2", "http://b", SiloStatus.Active, Now, Now), None);
        await Store.RegisterSiloAsync(new SiloRecord("c", "n3", null, SiloStatus.Active, Now, Now), None);
        await Assert.ThrowsAsync<InvalidOperationException>(() => Store.RegisterSiloAsync(new SiloRecord("a", "n1", null, SiloStatus.Active, Now, Now), None));

        Clock.Advance(TimeSpan.FromSeconds(5));
        Assert.True(await Store.HeartbeatAsync("a", Now, None));
        await Store.MarkSiloStoppedAsync("c", Now, None);
        Clock.Advance(TimeSpan.FromSeconds(5));

        var declared = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Store.DeclareDeadSilosAsync(Now - TimeSpan.FromSeconds(8), None)));
        var dead = Assert.Single(declared.SelectMany(d => d));
        Assert.Equal(("b", SiloStatus.Dead), (dead.SiloId, dead.Status));
        Assert.False(await Store.HeartbeatAsync("b", Now, None));
        Assert.False(await Store.HeartbeatAsync("unknown", Now, None));

        var silos = (await Store.GetSilosAsync(None)).ToDictionary(s => s.SiloId, s => s.Status);
        Assert.Equal(SiloStatus.Active, silos["a"]);
        Assert.Equal(SiloStatus.Dead, silos["b"]);
        Assert.Equal(SiloStatus.Stopped, silos["c"]);

        // A dead or stopped id may join again (a rejoin or a restart); an active one may not.
        await Store.RegisterSiloAsync(new SiloRecord("b", "n2", null, SiloStatus.Active, Now, Now), None);
        await Store.RegisterSiloAsync(new SiloRecord("c", "n3", null, SiloStatus.Active, Now, Now), None);
        Assert.True(await Store.HeartbeatAsync("b", Now, None));
        Assert.Contains("held by an active silo", (await Assert.ThrowsAsync<InvalidOperationException>(() => Store.RegisterSiloAsync(new SiloRecord("c", "n9", null, SiloStatus.Active, Now, Now), None))).Message);
    }

    // ---- jobs: order and visibility ----

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
        Assert.Equal(JobUpdateOutcome.LeaseLost, await Store.CompleteAsync("q", job.JobId, job.LeaseToken, "again", Now, None));

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
    public async Task Recovering_a_dead_owner_returns_only_its_monitored_jobs_and_never_those_of_a_rejoined_silo()
    {
        await Store.RegisterSiloAsync(new SiloRecord("silo-a", "n1", null, SiloStatus.Active, Now, Now), None);
        await Store.RegisterSiloAsync(new SiloRecord("silo-b", "n2", null, SiloStatus.Active, Now, Now), None);
        await Store.EnqueueAsync("q1", [Job("a1"), Job("b1")], Now, None);
        await Store.EnqueueAsync("q2", [Job("a2")], Now, None);
        var a1 = await ClaimOneAsync("q1", Monitored(owner: "silo-a"));
        var b1 = await ClaimOneAsync("q1", Monitored(owner: "silo-b"));
        var a2 = await ClaimOneAsync("q2", Monitored(owner: "silo-a"));

        Assert.Equal(0, await Store.RecoverJobsOfOwnerAsync("silo-a", Now, None)); // alive: nothing to recover
        Clock.Advance(TimeSpan.FromSeconds(20));
        Assert.True(await Store.HeartbeatAsync("silo-b", Now, None));
        Assert.Equal("silo-a", Assert.Single(await Store.DeclareDeadSilosAsync(Now - TimeSpan.FromSeconds(10), None)).SiloId);

        Assert.Equal(2, await Store.RecoverJobsOfOwnerAsync("silo-a", Now, None));
        Assert.Equal(JobState.Available, (await Store.GetJobAsync("q1", a1.JobId, None))!.State);
        Assert.Equal(JobState.Available, (await Store.GetJobAsync("q2", a2.JobId, None))!.State);
        Assert.Equal(JobState.Running, (await Store.GetJobAsync("q1", b1.JobId, None))!.State);
        Assert.Equal(2, (await ClaimOneAsync("q2")).Attempt);

        // silo-a rejoins under the same id and claims again: a late retry of its recovery must not take that job.
        await Store.RegisterSiloAsync(new SiloRecord("silo-a", "n1", null, SiloStatus.Active, Now, Now), None);
        var again = await ClaimOneAsync("q1", Monitored(owner: "silo-a"));
        Assert.Equal(0, await Store.RecoverJobsOfOwnerAsync("silo-a", Now, None));
        Assert.Equal(JobState.Running, (await Store.GetJobAsync("q1", again.JobId, None))!.State);
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
    public async Task A_released_job_is_available_again_without_counting_the_attempt()
    {
        await Store.EnqueueAsync("q", [Job("x")], Now, None);
        var job = await ClaimOneAsync("q");
        Assert.Equal(JobUpdateOutcome.Updated, await Store.ReleaseAsync("q", job.JobId, job.LeaseToken, Now, None));
        Assert.Equal(1, (await ClaimOneAsync("q")).Attempt);
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
