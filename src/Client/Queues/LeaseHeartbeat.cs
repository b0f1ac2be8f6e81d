using Orleans.Jobs.Grains.Interfaces;

namespace Orleans.Jobs.Client.Queues;

/// <summary>
/// Renews the lease of a monitored job about three times per lease while its holder works on it. When a renewal is
/// refused, or renewals fail until the lease has run out, <see cref="LeaseLost"/> is cancelled: the job may already
/// be running elsewhere, so the holder should stop.
/// </summary>
/// <remarks>
/// One timer per job and no loop: most jobs end long before their first renewal, so starting and stopping a heartbeat
/// must cost next to nothing (stopping throws no cancellation exception and waits for nothing but a renewal in flight).
/// </remarks>
public sealed class LeaseHeartbeat : IAsyncDisposable
{
    private static readonly Lock Stopped = new(); // in _gate: stopped before any tick, so no tick needs a lock any more

    private readonly Func<ClaimedJob, TimeSpan, Task<JobUpdateOutcome>>? _renew;
    private readonly ClaimedJob _job;
    private readonly TimeProvider _timeProvider;
    private readonly TimeSpan _lease;
    private readonly ITimer? _timer;
    private readonly CancellationTokenSource? _holderCancellation;
    private Lock? _gate; // made by the first tick: most heartbeats stop before it
    private CancellationTokenSource? _lost; // made when someone asks for LeaseLost
    private int _isLost;
    private DateTimeOffset _expiresAt;
    private Task _renewing = Task.CompletedTask;
    private bool _stopped;
    private bool _tickedWhileRenewing;

    /// <summary>Starts renewing the lease of <paramref name="job"/> through <paramref name="renew"/> (given the lease length); does nothing for unmonitored jobs.</summary>
    public LeaseHeartbeat(Func<TimeSpan, Task<JobUpdateOutcome>> renew, ClaimedJob job, TimeProvider timeProvider)
        : this((_, lease) => renew(lease), job, timeProvider, holderCancellation: null)
    {
    }

    /// <summary>
    /// As the public constructor, with <paramref name="renew"/> given the job too, so one delegate serves every job; a
    /// lost lease also cancels <paramref name="holderCancellation"/> (a silo worker's job cancellation), so the holder
    /// needs no source linked to <see cref="LeaseLost"/>.
    /// </summary>
    internal LeaseHeartbeat(Func<ClaimedJob, TimeSpan, Task<JobUpdateOutcome>> renew, ClaimedJob job, TimeProvider timeProvider, CancellationTokenSource? holderCancellation)
    {
        _job = job;
        _timeProvider = timeProvider;
        _holderCancellation = holderCancellation;
        if (job.LeaseDuration is not { } lease) return;

        _renew = renew;
        _lease = lease;
        _expiresAt = timeProvider.GetUtcNow() + lease;
        var interval = TimeSpan.FromTicks(Math.Max(lease.Ticks / 3, TimeSpan.FromMilliseconds(20).Ticks));
        _timer = timeProvider.CreateTimer(static heartbeat => ((LeaseHeartbeat)heartbeat!).Tick(), this, interval, interval);
    }

    /// <summary>Cancelled when the holder lost the job.</summary>
    public CancellationToken LeaseLost
    {
        get
        {
            if (Volatile.Read(ref _lost) is null)
            {
                var made = new CancellationTokenSource();
                if (Interlocked.CompareExchange(ref _lost, made, null) is not null) made.Dispose();
            }

            if (IsLost) _lost!.Cancel(); // lost before anyone asked
            return _lost!.Token;
        }
    }

    /// <summary>True when the holder lost the job.</summary>
    public bool IsLost => Volatile.Read(ref _isLost) != 0;

    /// <summary>
    /// A tick: renews unless stopped. A tick while a renewal is in flight is kept, and the next renewal starts as soon
    /// as that one ends (as a periodic timer's missed tick would), so a slow renewal costs no more than its own delay.
    /// </summary>
    private void Tick()
    {
        var gate = Volatile.Read(ref _gate) ?? Interlocked.CompareExchange(ref _gate, new Lock(), null) ?? _gate!;
        if (gate == Stopped) return;
        lock (gate)
        {
            if (_stopped) return;
            if (!_renewing.IsCompleted)
            {
                _tickedWhileRenewing = true;
                return;
            }

            _renewing = Task.Run(RenewAsync); // the renewal, and whatever a lost lease cancels, runs outside the lock
        }
    }

    private async Task RenewAsync()
    {
        try
        {
            if (await _renew!(_job, _lease) != JobUpdateOutcome.Updated)
            {
                Lose();
                return;
            }

            _expiresAt = _timeProvider.GetUtcNow() + _lease;
        }
        catch (Exception) when (!Volatile.Read(ref _stopped))
        {
            // A transient failure: keep trying while the lease may still be ours.
            if (_timeProvider.GetUtcNow() >= _expiresAt) Lose();
        }
        catch (Exception)
        {
            // Stopping: a renewal that was in flight may fail any way it likes; the holder is done with the lease.
        }

        if (IsLost) return;
        lock (_gate!)
        {
            if (_stopped || !_tickedWhileRenewing) return;
            _tickedWhileRenewing = false;
            _renewing = Task.Run(RenewAsync);
        }
    }

    private void Lose()
    {
        Interlocked.Exchange(ref _isLost, 1); // a full fence: LeaseLost, made meanwhile, sees it or is seen here
        Volatile.Read(ref _lost)?.Cancel();
        _holderCancellation?.Cancel();
        _timer!.Dispose();
    }

    /// <summary>Stops renewing, once a renewal in flight (if any) has ended.</summary>
    public async ValueTask DisposeAsync()
    {
        Task renewing;
        var gate = Interlocked.CompareExchange(ref _gate, Stopped, null);
        if (gate is null || gate == Stopped)
        {
            // No tick came, and none will renew now.
            _stopped = true;
            renewing = Task.CompletedTask;
        }
        else
        {
            lock (gate)
            {
                if (_stopped) return;
                _stopped = true;
                renewing = _renewing;
            }
        }

        _timer?.Dispose();
        await renewing; // _lost stays usable: holders may still look at LeaseLost after settling
    }
}
