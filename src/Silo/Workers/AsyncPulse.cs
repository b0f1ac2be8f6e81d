namespace Orleans.Jobs.Silo.Workers;

/// <summary>
/// Wakes everyone waiting for "something changed". Take <see cref="Next"/> before checking your condition, then
/// await it if the condition does not hold: a pulse in between is never missed.
/// </summary>
internal sealed class AsyncPulse
{
    private TaskCompletionSource _next = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task Next => Volatile.Read(ref _next).Task;

    public void Pulse() => Interlocked.Exchange(ref _next, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
}
