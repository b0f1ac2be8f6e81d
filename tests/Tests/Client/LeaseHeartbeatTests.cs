using Microsoft.Extensions.Time.Testing;
using Orleans.Jobs.Client.Queues;
using Orleans.Jobs.Grains.Interfaces;

namespace Orleans.Jobs.Tests.Client;

/// <summary>The lease heartbeat alone, on a fake clock, with renewals scripted by the test.</summary>
public sealed class LeaseHeartbeatTests
{
    /// <summary>Renewals that block until told how to end.</summary>
    private sealed class ScriptedRenewals
    {
        public TaskCompletionSource RenewStarted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public TaskCompletionSource<JobUpdateOutcome> RenewResult { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public int Renewals;
        public TimeSpan? LastLease;

        public async Task<JobUpdateOutcome> RenewAsync(TimeSpan lease)
        {
            Interlocked.Increment(ref Renewals);
            LastLease = lease;
            RenewStarted.TrySetResult();
            return await RenewResult.Task;
        }
    }

    private static (ScriptedRenewals Script, LeaseHeartbeat Heartbeat, FakeTimeProvider Clock) Start(TimeSpan? lease = null)
    {
        var clock = new FakeTimeProvider();
        var script = new ScriptedRenewals();
        var length = lease ?? TimeSpan.FromSeconds(30);
        var job = new ClaimedJob(1, "q", "data", 0, 1, 3, Guid.NewGuid(), lease is null && length == TimeSpan.Zero ? null : length, clock.GetUtcNow() + length, clock.GetUtcNow());
        return (script, new LeaseHeartbeat(script.RenewAsync, job, clock), clock);
    }

    [Fact]
    public async Task Renewals_come_every_third_of_the_lease_and_not_before()
    {
        var (script, heartbeat, clock) = Start();
        script.RenewResult.SetResult(JobUpdateOutcome.Updated);
        clock.Advance(TimeSpan.FromSeconds(9));
        Assert.Equal(0, script.Renewals);
        clock.Advance(TimeSpan.FromSeconds(1));
        await Eventually.TrueAsync(() => script.Renewals == 1, "the first renewal at a third of the lease");
        Assert.Equal(TimeSpan.FromSeconds(30), script.LastLease);
        clock.Advance(TimeSpan.FromSeconds(10));
        await Eventually.TrueAsync(() => script.Renewals == 2, "the second renewal");
        Assert.False(heartbeat.IsLost);
        await heartbeat.DisposeAsync();
    }

    [Fact]
    public async Task A_tick_during_a_slow_renewal_renews_again_as_soon_as_it_ends()
    {
        var (script, heartbeat, clock) = Start();
        clock.Advance(TimeSpan.FromSeconds(10)); // the first renewal starts and hangs
        await Eventually.WithinAsync(script.RenewStarted.Task.ContinueWith(_ => true), "the first renewal to start");
        clock.Advance(TimeSpan.FromSeconds(10)); // the next tick comes while it hangs
        Assert.Equal(1, script.Renewals);

        script.RenewResult.SetResult(JobUpdateOutcome.Updated);
        await Eventually.TrueAsync(() => script.Renewals == 2, "the kept tick's renewal, without waiting for another tick");
        Assert.False(heartbeat.IsLost);
        await heartbeat.DisposeAsync();
    }

    [Fact]
    public async Task Stopping_while_a_renewal_fails_does_not_throw()
    {
        var (script, heartbeat, clock) = Start();
        clock.Advance(TimeSpan.FromSeconds(10)); // a third of the lease: the first renewal starts
        await Eventually.WithinAsync(script.RenewStarted.Task.ContinueWith(_ => true), "the renewal to start");

        var stopping = heartbeat.DisposeAsync().AsTask();
        script.RenewResult.SetException(new InvalidOperationException("store down"));
        await Eventually.WithinAsync(stopping.ContinueWith(t => t.IsCompletedSuccessfully), "the heartbeat to stop");
        Assert.True(stopping.IsCompletedSuccessfully);
    }

    [Fact]
    public async Task A_refused_renewal_marks_the_lease_lost()
    {
        var (script, heartbeat, clock) = Start();
        script.RenewResult.SetResult(JobUpdateOutcome.LeaseLost);
        clock.Advance(TimeSpan.FromSeconds(10));
        await Eventually.TrueAsync(() => heartbeat.IsLost, "the lease to be marked lost");
        Assert.True(heartbeat.LeaseLost.IsCancellationRequested);
        await heartbeat.DisposeAsync();
        Assert.True(heartbeat.LeaseLost.IsCancellationRequested); // still readable after the heartbeat stopped
        Assert.Equal(1, script.Renewals);
    }

    [Fact]
    public async Task A_lost_lease_cancels_the_holders_own_cancellation_and_a_token_asked_for_later()
    {
        var clock = new FakeTimeProvider();
        var holder = new CancellationTokenSource();
        var job = new ClaimedJob(1, "q", "data", 0, 1, 3, Guid.NewGuid(), TimeSpan.FromSeconds(30), clock.GetUtcNow() + TimeSpan.FromSeconds(30), clock.GetUtcNow());
        var renewedJobs = new List<long>();
        var heartbeat = new LeaseHeartbeat((renewed, _) =>
        {
            lock (renewedJobs) renewedJobs.Add(renewed.JobId);
            return Task.FromResult(JobUpdateOutcome.LeaseLost);
        }, job, clock, holder);

        Assert.False(holder.IsCancellationRequested);
        clock.Advance(TimeSpan.FromSeconds(10));
        await Eventually.TrueAsync(() => heartbeat.IsLost, "the lease to be marked lost");
        Assert.True(holder.IsCancellationRequested);
        Assert.True(heartbeat.LeaseLost.IsCancellationRequested); // asked for only after the loss
        lock (renewedJobs) Assert.Equal([1L], renewedJobs);
        await heartbeat.DisposeAsync();
    }

    [Fact]
    public async Task A_heartbeat_stopped_before_its_first_renewal_never_renews()
    {
        var (script, heartbeat, clock) = Start();
        await heartbeat.DisposeAsync();
        clock.Advance(TimeSpan.FromMinutes(5));
        Assert.Equal(0, script.Renewals);
        Assert.False(heartbeat.IsLost);
        Assert.False(heartbeat.LeaseLost.IsCancellationRequested);
    }

    [Fact]
    public async Task Renewals_that_keep_failing_mark_the_lease_lost_once_it_has_run_out()
    {
        var (script, heartbeat, clock) = Start();
        script.RenewResult.SetException(new TimeoutException("store unreachable"));
        clock.Advance(TimeSpan.FromSeconds(10));
        await Eventually.TrueAsync(() => script.Renewals >= 1, "the first failed renewal");
        Assert.False(heartbeat.IsLost); // the lease may still be ours
        clock.Advance(TimeSpan.FromSeconds(10));
        await Eventually.TrueAsync(() => script.Renewals >= 2, "the second failed renewal");
        clock.Advance(TimeSpan.FromSeconds(10)); // thirty seconds since the last good renewal
        await Eventually.TrueAsync(() => heartbeat.IsLost, "the lease to be lost when it runs out");
        await heartbeat.DisposeAsync();
    }
}
