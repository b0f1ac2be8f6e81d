using Orleans.Jobs.Runtime.Jobs;
using Orleans.Jobs.Runtime.Membership;
using Orleans.Jobs.Runtime.Storage.InMemory;
using Orleans.Jobs.Silo.Testing;

namespace Orleans.Jobs.Tests.Runtime;

/// <summary>Heartbeats and death detection, with time moved by hand.</summary>
public sealed class MembershipTests
{
    private readonly InMemoryClusterStore _store = new();
    private readonly ManualTimeProvider _clock = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_silo_that_stops_heartbeating_is_declared_dead_its_monitored_jobs_come_back_and_it_can_rejoin()
    {
        await using var a = new SiloServices(_store, _clock, "a");
        await using var b = new SiloServices(_store, _clock, "b");
        await a.JoinAsync();
        await b.JoinAsync();
        await _store.EnqueueAsync("q", [new NewJob("work", 0, null, false, 3), new NewJob("fire-and-forget", 0, null, false, 3)], _clock.GetUtcNow(), Ct);
        var monitored = (await _store.ClaimAsync("q", new JobClaim(1, TimeSpan.FromMinutes(10), "a"), _clock.GetUtcNow(), Ct)).Single();
        var unmonitored = (await _store.ClaimAsync("q", new JobClaim(1, null, "a"), _clock.GetUtcNow(), Ct)).Single();

        // Both heartbeat for a while; then a falls silent.
        for (var i = 0; i < 3; i++)
        {
            _clock.Advance(MembershipOptions.DefaultHeartbeatPeriod);
            Assert.True(await a.Membership.BeatOnceAsync(Ct));
            Assert.True(await b.Membership.BeatOnceAsync(Ct));
        }

        for (var elapsed = TimeSpan.Zero; elapsed <= MembershipOptions.DefaultDeathTimeout; elapsed += MembershipOptions.DefaultHeartbeatPeriod)
        {
            Assert.Equal(SiloStatus.Active, (await _store.GetSilosAsync(Ct)).Single(s => s.SiloId == "a").Status);
            _clock.Advance(MembershipOptions.DefaultHeartbeatPeriod);
            Assert.True(await b.Membership.BeatOnceAsync(Ct));
        }

        var silos = (await _store.GetSilosAsync(Ct)).ToDictionary(s => s.SiloId, s => s.Status);
        Assert.Equal(SiloStatus.Dead, silos["a"]);
        Assert.Equal(SiloStatus.Active, silos["b"]);
        Assert.Equal(JobState.Available, (await _store.GetJobAsync("q", monitored.JobId, Ct))!.State); // lease had 10 minutes left
        Assert.Equal(JobState.Running, (await _store.GetJobAsync("q", unmonitored.JobId, Ct))!.State);

        // a wakes up (a long pause, or the store is back after an outage): it learns it was declared dead, abandons
        // the work of that incarnation and rejoins.
        var oldIncarnation = a.Lifetime.Incarnation;
        Assert.False(await a.Membership.BeatOnceAsync(Ct));
        Assert.True(oldIncarnation.IsCancellationRequested);
        Assert.False(a.Lifetime.Incarnation.IsCancellationRequested);
        Assert.False(a.Lifetime.IsKilled);
        Assert.Equal(SiloStatus.Active, (await _store.GetSilosAsync(Ct)).Single(s => s.SiloId == "a").Status);
        Assert.True(await a.Membership.BeatOnceAsync(Ct));
    }
}
