namespace Orleans.Jobs.Storage;

/// <summary>
/// Fans "jobs may be available in queue X" signals out to the subscriptions of this process.
/// Providers call <see cref="Signal"/> when they learn of new work (directly, or from a database notification).
/// </summary>
public sealed class AvailabilityBroadcaster(TimeSpan? pollInterval = null)
{
    private readonly Dictionary<string, HashSet<Subscription>> _subscriptions = new(StringComparer.Ordinal);

    /// <summary>
    /// When set, no wait lasts longer than this: a waiter that got no signal re-checks its queue anyway. Providers
    /// whose signals can be lost (database notifications) set it; the in-memory store, which cannot lose one, does not.
    /// </summary>
    public TimeSpan? PollInterval { get; } = pollInterval;

    /// <summary>Subscribes to the signals of <paramref name="queue"/>.</summary>
    public IJobAvailabilitySubscription Subscribe(string queue)
    {
        var subscription = new Subscription(this, queue);
        lock (_subscriptions)
        {
            if (!_subscriptions.TryGetValue(queue, out var set))
                _subscriptions[queue] = set = [];
            set.Add(subscription);
        }

        return subscription;
    }

    /// <summary>Wakes every subscription of <paramref name="queue"/>.</summary>
    public void Signal(string queue)
    {
        Subscription[] targets;
        lock (_subscriptions)
        {
            if (!_subscriptions.TryGetValue(queue, out var set)) return;
            targets = [.. set];
        }

        foreach (var subscription in targets)
            subscription.Signal();
    }

    /// <summary>Wakes every subscription of every queue, for when signals may have been lost (a reconnect).</summary>
    public void SignalAll()
    {
        string[] queues;
        lock (_subscriptions) queues = [.. _subscriptions.Keys];
        foreach (var queue in queues) Signal(queue);
    }

    private void Remove(Subscription subscription)
    {
        lock (_subscriptions)
        {
            if (_subscriptions.TryGetValue(subscription.Queue, out var set) && set.Remove(subscription) && set.Count == 0)
                _subscriptions.Remove(subscription.Queue);
        }
    }

    private sealed class Subscription(AvailabilityBroadcaster owner, string queue) : IJobAvailabilitySubscription
    {
        private TaskCompletionSource _signal = NewSignal();

        public string Queue => queue;

        public void Signal() => Volatile.Read(ref _signal).TrySetResult();

        public async Task<bool> WaitAsync(TimeSpan timeout, TimeProvider timeProvider, CancellationToken cancellationToken)
        {
            if (owner.PollInterval is { } poll && timeout > poll) timeout = poll;
            var signal = Volatile.Read(ref _signal);
            if (!signal.Task.IsCompleted && timeout > TimeSpan.Zero)
            {
                using var stopWaiting = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                var expired = Task.Delay(timeout, timeProvider, stopWaiting.Token);
                await Task.WhenAny(signal.Task, expired);
                await stopWaiting.CancelAsync();
                cancellationToken.ThrowIfCancellationRequested();
            }

            if (!signal.Task.IsCompleted) return false;

            // Consumed: the caller re-checks the queue, so a signal racing with this reset is covered by that check.
            Interlocked.CompareExchange(ref _signal, NewSignal(), signal);
            return true;
        }

        public void Dispose() => owner.Remove(this);

        private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
