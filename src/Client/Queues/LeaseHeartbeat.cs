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
    private readonly Func<TimeSpan, Task<JobUpdateOutcome>>? _renew;
    private readonly TimeProvider _timeProvider;
    private readonly TimeSpan _lease;
    private readonly ITimer? _timer;
    private readonly CancellationTokenSource _lost = new();
    private readonly Lock _gate = new();
    private DateTimeOffset _expiresAt;
    private Task _renewing = Task.CompletedTask;
    private bool _stopped;

    /// <summary>Starts renewing the lease of <paramref name="job"/> through <paramref name="renew"/> (given the lease length); does nothing for unmonitored jobs.</summary>
    public LeaseHeartbeat(Func<TimeSpan, Task<JobUpdateOutcome>> renew, ClaimedJob job, TimeProvider timeProvider)
    {
        _timeProvider = timeProvider;
        if (job.LeaseDuration is not { } lease) return;

        _renew = renew;
        _lease = lease;
        _expiresAt = timeProvider.GetUtcNow() + lease;
        var interval = TimeSpan.FromTicks(Math.Max(lease.Ticks / 3, TimeSpan.FromMilliseconds(20).Ticks));
        _timer = timeProvider.CreateTimer(static heartbeat => ((LeaseHeartbeat)heartbeat!).Tick(), this, interval, interval);
    }

    /// <summary>Cancelled when the holder lost the job.</summary>
    public CancellationToken LeaseLost => _lost.Token;

    /// <summary>True when the holder lost the job.</summary>
    public bool IsLost => _lost.IsCancellationRequested;

    /// <summary>A tick: renews unless stopped or a renewal is still in flight (ticks meanwhile are skipped, not queued).</summary>
    private void Tick()
    {
        lock (_gate)
        {
            if (_stopped || !_renewing.IsCompleted) return;
            _renewing = Task.Run(RenewAsync); // the renewal, and whatever a lost lease cancels, runs outside the lock
        }
    }

    private async Task RenewAsync()
    {
        try
        {
            if (await _renew!(_lease) != JobUpdateOutcome.Updated)
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
    }

    private void Lose()
    {
        _lost.Cancel();
        _timer!.Dispose();
    }

    /// <summary>Stops renewing, once a renewal in flight (if any) has ended.</summary>
    public async ValueTask DisposeAsync()
    {
        Task renewing;
        lock (_gate)
        {
            if (_stopped) return;
            _stopped = true;
            renewing = _renewing;
        }

        _timer?.Dispose();
        await renewing; // _lost stays usable: holders may still look at LeaseLost after settling
    }
}
