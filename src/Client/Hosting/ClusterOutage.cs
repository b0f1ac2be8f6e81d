using Orleans.Jobs.Grains.Interfaces;
using Orleans.Runtime;

namespace Orleans.Jobs.Client.Hosting;

/// <summary>
/// A worker loop's view of a cluster that cannot answer for a while (a silo restarting, the job store failing over, a
/// deadlock victim): it waits with a growing, jittered delay and tries again, and gives up with a clear error once the
/// failures have lasted longer than its budget. A success ends the outage.
/// </summary>
internal sealed class ClusterOutage(TimeSpan budget, TextWriter log)
{
    private static readonly TimeSpan FirstDelay = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan LongestDelay = TimeSpan.FromSeconds(5);
    private DateTimeOffset? _since;
    private int _failures;

    /// <summary>Errors that say "not now" rather than "never": the same call may succeed later.</summary>
    public static bool IsRetryable(Exception e) => e is JobStoreException { IsTransient: true } or TimeoutException or OrleansException;

    /// <summary>The last call succeeded.</summary>
    public void Ended() => (_since, _failures) = (null, 0);

    /// <summary>Waits before the next try, or throws once the outage has outlasted its budget.</summary>
    /// <exception cref="ClusterConnectionException">The cluster kept failing for longer than the budget.</exception>
    public async Task WaitAsync(Exception error, string what, CancellationToken cancellationToken)
    {
        var now = DateTimeOffset.UtcNow;
        _since ??= now;
        if (now - _since > budget)
            throw new ClusterConnectionException(
                $"Could not {what} for {budget.TotalSeconds:0} s: the cluster or its job store kept failing (last: {error.GetType().Name}: {error.Message}). " +
                "Nothing recorded was lost; run the worker again to resume.", error);

        var delay = TimeSpan.FromMilliseconds(Math.Min(LongestDelay.TotalMilliseconds, FirstDelay.TotalMilliseconds * (1 << Math.Min(_failures++, 10))) * (0.5 + Random.Shared.NextDouble() / 2));
        log.WriteLine($"...could not {what} ({error.GetType().Name}: {error.Message}); trying again in {delay.TotalSeconds:0.0}s.");
        await Task.Delay(delay, cancellationToken);
    }
}
