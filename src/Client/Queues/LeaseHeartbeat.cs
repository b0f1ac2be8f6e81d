using Orleans.Jobs.Grains.Interfaces;

namespace Orleans.Jobs.Client.Queues;

/// <summary>
/// Renews the lease of a monitored job about three times per lease while its holder works on it. When a renewal is
/// refused, or renewals fail until the lease has run out, <see cref="LeaseLost"/> is cancelled: the job may already
/// be running elsewhere, so the holder should stop.
/// </summary>
public sealed class LeaseHeartbeat : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly CancellationTokenSource _lost = new();
    private readonly Task _loop;

    /// <summary>Starts renewing the lease of <paramref name="job"/> through <paramref name="renew"/> (given the lease length); does nothing for unmonitored jobs.</summary>
    public LeaseHeartbeat(Func<TimeSpan, Task<JobUpdateOutcome>> renew, ClaimedJob job, TimeProvider timeProvider)
    {
        if (job.LeaseDuration is not { } lease)
        {
            _loop = Task.CompletedTask;
            return;
        }

        var expiresAt = timeProvider.GetUtcNow() + lease;
        var interval = TimeSpan.FromTicks(Math.Max(lease.Ticks / 3, TimeSpan.FromMilliseconds(20).Ticks));
        _loop = RenewAsync(renew, expiresAt, lease, interval, timeProvider);
    }

    /// <summary>Cancelled when the holder lost the job.</summary>
    public CancellationToken LeaseLost => _lost.Token;

    /// <summary>True when the holder lost the job.</summary>
    public bool IsLost => _lost.IsCancellationRequested;

    private async Task RenewAsync(Func<TimeSpan, Task<JobUpdateOutcome>> renew, DateTimeOffset expiresAt, TimeSpan lease, TimeSpan interval, TimeProvider timeProvider)
    {
        using var timer = new PeriodicTimer(interval, timeProvider);
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token))
            {
                try
                {
                    var outcome = await renew(lease);
                    if (outcome != JobUpdateOutcome.Updated)
                    {
                        await _lost.CancelAsync();
                        return;
                    }

                    expiresAt = timeProvider.GetUtcNow() + lease;
                }
                catch (Exception) when (!_stop.IsCancellationRequested)
                {
                    // A transient failure: keep trying while the lease may still be ours.
                    if (timeProvider.GetUtcNow() >= expiresAt)
                    {
                        await _lost.CancelAsync();
                        return;
                    }
                }
            }
        }
        catch (Exception) when (_stop.IsCancellationRequested)
        {
            // Stopping: a renewal that was in flight may fail any way it likes; the holder is done with the lease.
        }
    }

    /// <summary>Stops renewing.</summary>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _loop;
        _stop.Dispose(); // _lost stays usable: holders may still look at LeaseLost after settling
    }
}
