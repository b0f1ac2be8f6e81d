using System.Threading.Channels;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Orleans.Jobs.Grains.Interfaces;
using Orleans.Jobs.Silo.Workers;
using Orleans.Jobs.Storage;

namespace Orleans.Jobs.Tests.Workers;

/// <summary>
/// A silo's leases, renewed together: one store call per tick for every held job, a refused renewal loses its job,
/// and failing renewals lose a job only once its lease has run out. Time is a <see cref="FakeTimeProvider"/>, moved on
/// until the renewal loop has called (polled with a deadline: the loop reaches its timer on its own thread).
/// </summary>
public sealed class LeaseRenewalsTests
{
    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);
    private readonly FakeTimeProvider _time = new();
    private readonly Channel<IReadOnlyList<LeaseRenewal>> _calls = Channel.CreateUnbounded<IReadOnlyList<LeaseRenewal>>();

    [Fact]
    public async Task Every_held_lease_renews_in_one_call_per_tick_and_a_refused_one_is_lost()
    {
        var refused = new HashSet<long> { 2 };
        await using var renewals = new LeaseRenewals(Renew(leases => [.. leases.Where(l => refused.Contains(l.JobId))]), _time, NullLogger.Instance);
        using var keptHandler = new CancellationTokenSource();
        using var lostHandler = new CancellationTokenSource();
        var kept = renewals.Hold(Job(1), keptHandler)!;
        var lost = renewals.Hold(Job(2), lostHandler)!;
        Assert.Null(renewals.Hold(Job(3) with { LeaseDuration = null }, new CancellationTokenSource())); // unmonitored: nothing to renew

        var heldAt = _time.GetUtcNow();
        var call = await NextCallAsync();
        Assert.Equal([1L, 2L], call.Select(l => l.JobId).Order());
        var renewedTo = Assert.Single(call.Select(l => l.ExpiresAt).Distinct()); // one tick, one expiry: now plus the lease
        Assert.InRange(renewedTo, heldAt + Lease + TimeSpan.FromSeconds(1), _time.GetUtcNow() + Lease);
        await UntilAsync(() => lost.IsLost, "the refused lease to be lost");
        Assert.True(lostHandler.IsCancellationRequested); // its handler is told
        Assert.False(kept.IsLost);
        Assert.False(keptHandler.IsCancellationRequested);

        // A lost or settled job is renewed no more.
        await kept.DisposeAsync();
        Assert.Equal(0, renewals.Count);
    }

    [Fact]
    public async Task Failing_renewals_lose_a_job_only_once_its_lease_has_run_out()
    {
        await using var renewals = new LeaseRenewals(Renew(_ => throw new TimeoutException("the store did not answer")), _time, NullLogger.Instance);
        using var handler = new CancellationTokenSource();
        var held = renewals.Hold(Job(1), handler)!;

        await NextCallAsync(); // a third of the lease in: still ours
        Assert.False(held.IsLost);
        await NextCallAsync(); // two thirds
        Assert.False(held.IsLost);
        await UntilAsync(() => held.IsLost, "the lease to run out", advance: true);
        Assert.True(handler.IsCancellationRequested);
    }

    private Func<IReadOnlyList<LeaseRenewal>, Task<IReadOnlyList<LeaseRenewal>>> Renew(Func<IReadOnlyList<LeaseRenewal>, IReadOnlyList<LeaseRenewal>> answer) => leases =>
    {
        _calls.Writer.TryWrite(leases);
        return Task.FromResult(answer(leases));
    };

    /// <summary>Moves time on a tick at a time until the loop calls the store.</summary>
    private async Task<IReadOnlyList<LeaseRenewal>> NextCallAsync()
    {
        using var deadline = new CancellationTokenSource(Deadline);
        IReadOnlyList<LeaseRenewal>? call;
        while (!_calls.Reader.TryRead(out call))
        {
            deadline.Token.ThrowIfCancellationRequested();
            _time.Advance(TimeSpan.FromSeconds(1));
            await Task.Delay(TimeSpan.FromMilliseconds(5), deadline.Token);
        }

        return call;
    }

    private async Task UntilAsync(Func<bool> condition, string what, bool advance = false)
    {
        using var deadline = new CancellationTokenSource(Deadline);
        while (!condition())
        {
            Assert.False(deadline.IsCancellationRequested, $"Not within {Deadline}: {what}.");
            if (advance) _time.Advance(TimeSpan.FromSeconds(1));
            await Task.Delay(TimeSpan.FromMilliseconds(5), CancellationToken.None);
        }
    }

    private ClaimedJob Job(long id) => new(id, "q", "{}", 0, 1, 3, Guid.NewGuid(), Lease, _time.GetUtcNow() + Lease, _time.GetUtcNow());
}
