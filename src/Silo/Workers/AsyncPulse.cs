namespace Orleans.Jobs.Silo.Workers;

/// <summary>
/// Wakes everyone waiting for "something changed". Take <see cref="Next"/> before checking your condition, then
/// await it if the condition does not hold: a pulse in between is never missed. A pulse that nobody has taken
/// <see cref="Next"/> for since the last one costs nothing (runners pulse once per job).
/// </summary>
internal sealed class AsyncPulse
{
    private TaskCompletionSource _next = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _taken;

    public Task Next
    {
        get
        {
            var next = Volatile.Read(ref _next).Task;
            Interlocked.Exchange(ref _taken, 1); // after the read: a pulse that misses this completes what was read, or came before the caller's check
            return next;
        }
    }

    public void Pulse()
    {
        if (Interlocked.Exchange(ref _taken, 0) == 0) return;
        Interlocked.Exchange(ref _next, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
    }
}
