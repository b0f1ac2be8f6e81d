using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Orleans.Jobs.Grains.Interfaces;
using Orleans.Jobs.Storage;

namespace Orleans.Jobs.Silo.Workers;

/// <summary>
/// Keeps the leases of every monitored job a silo's workers hold (waiting for a runner, running, or being recorded)
/// with one store call per tick, instead of a timer and a round trip per job: a silo holding its look-ahead of a
/// thousand jobs renews them in one statement. A tick comes every third of the shortest lease seen. A job whose
/// renewal is refused, or whose lease runs out while renewals fail, is lost: the cancellation given to <see cref="Hold"/>
/// (its handler's) is cancelled, as <c>LeaseHeartbeat</c> does for a single job.
/// </summary>
internal sealed partial class LeaseRenewals : IAsyncDisposable
{
    /// <summary>The shortest gap between two ticks, whatever the lease.</summary>
    private static readonly TimeSpan MinTick = TimeSpan.FromMilliseconds(20);

    private readonly Func<IReadOnlyList<LeaseRenewal>, Task<IReadOnlyList<LeaseRenewal>>> _renew;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<HeldLease, byte> _held = new();
    private readonly AsyncPulse _changed = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private long _shortestLeaseTicks = long.MaxValue;
    private int _count;

    /// <summary>Starts renewing through <paramref name="renew"/>, which returns the leases it did not extend.</summary>
    public LeaseRenewals(Func<IReadOnlyList<LeaseRenewal>, Task<IReadOnlyList<LeaseRenewal>>> renew, TimeProvider time, ILogger logger)
    {
        _renew = renew;
        _time = time;
        _logger = logger;
        _loop = Task.Run(RunAsync);
    }

    /// <summary>How many leases are held now.</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>
    /// Renews <paramref name="job"/>'s lease until the returned hold is disposed, cancelling <paramref name="onLost"/>
    /// if it is lost; null for an unmonitored job, which holds none.
    /// </summary>
    public HeldLease? Hold(ClaimedJob job, CancellationTokenSource onLost)
    {
        if (job.LeaseDuration is not { } lease) return null;
        var held = new HeldLease(this, job, lease, job.LeaseExpiresAt ?? _time.GetUtcNow() + lease, onLost);
        _held[held] = 0;
        // Wake the loop when it sleeps with nothing held, or for longer than this lease allows.
        var wasEmpty = Interlocked.Increment(ref _count) == 1;
        if (LowerShortestLease(lease.Ticks) || wasEmpty) _changed.Pulse();
        return held;
    }

    private void Release(HeldLease held)
    {
        if (_held.TryRemove(held, out _)) Interlocked.Decrement(ref _count);
    }

    private async Task RunAsync()
    {
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                var changed = _changed.Next;
                if (Count == 0)
                {
                    await changed.WaitAsync(_stop.Token);
                    continue;
                }

                var tick = TimeSpan.FromTicks(Math.Max(Interlocked.Read(ref _shortestLeaseTicks) / 3, MinTick.Ticks));
                var woke = await Task.WhenAny(changed, Task.Delay(tick, _time, _stop.Token));
                if (woke == changed) continue; // a shorter lease arrived: sleep again for its tick
                await woke; // throws when stopping
                await RenewHeldAsync();
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
        }
    }

    private async Task RenewHeldAsync()
    {
        var held = _held.Keys.ToList();
        if (held.Count == 0) return;
        var now = _time.GetUtcNow();
        try
        {
            var notRenewed = await _renew([.. held.Select(h => new LeaseRenewal(h.Job.Queue, h.Job.JobId, h.Job.LeaseToken, now + h.Lease))]);
            var lost = notRenewed.Select(r => r.JobId).ToHashSet();
            foreach (var h in held)
            {
                if (lost.Contains(h.Job.JobId)) await h.LoseAsync();
                else h.ExpiresAt = now + h.Lease;
            }
        }
        catch (Exception e) when (!_stop.IsCancellationRequested)
        {
            // A transient failure: keep trying while each lease may still be ours.
            LogRenewFailed(e, held.Count);
            foreach (var h in held.Where(h => _time.GetUtcNow() >= h.ExpiresAt)) await h.LoseAsync();
        }
    }

    private bool LowerShortestLease(long ticks)
    {
        var seen = Interlocked.Read(ref _shortestLeaseTicks);
        while (ticks < seen)
        {
            var was = Interlocked.CompareExchange(ref _shortestLeaseTicks, ticks, seen);
            if (was == seen) return true;
            seen = was;
        }

        return false;
    }

    /// <summary>Stops renewing; holds still open stay as they are (their leases run out unless settled).</summary>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _loop;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Renewing the leases of {Count} held jobs failed; retrying while they last")]
    private partial void LogRenewFailed(Exception exception, int count);

    /// <summary>One job's lease, renewed by its silo's <see cref="LeaseRenewals"/> until disposed.</summary>
    internal sealed class HeldLease(LeaseRenewals renewals, ClaimedJob job, TimeSpan lease, DateTimeOffset expiresAt, CancellationTokenSource onLost) : IAsyncDisposable
    {
        private int _isLost;

        public ClaimedJob Job { get; } = job;

        public TimeSpan Lease { get; } = lease;

        /// <summary>When the lease runs out unless renewed again, as far as this silo knows.</summary>
        public DateTimeOffset ExpiresAt { get; set; } = expiresAt;

        /// <summary>True when the holder lost the job (the source given to <see cref="Hold"/> is cancelled too).</summary>
        public bool IsLost => Volatile.Read(ref _isLost) != 0;

        internal async Task LoseAsync()
        {
            renewals.Release(this);
            Volatile.Write(ref _isLost, 1);
            await onLost.CancelAsync();
        }

        /// <summary>Stops renewing this lease.</summary>
        public ValueTask DisposeAsync()
        {
            renewals.Release(this);
            return ValueTask.CompletedTask;
        }
    }
}
