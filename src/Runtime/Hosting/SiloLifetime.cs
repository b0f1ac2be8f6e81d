namespace Orleans.Jobs.Runtime.Hosting;

/// <summary>
/// Whether this silo may still do work. A graceful stop lets services finish; a kill (a test's stand-in for
/// SIGKILL) stops everything at once with no cleanup.
/// </summary>
public sealed class SiloLifetime : IDisposable
{
    private readonly CancellationTokenSource _killed = new();
    private CancellationTokenSource _incarnation;

    /// <summary>Creates the lifetime of a new silo.</summary>
    public SiloLifetime() => _incarnation = CancellationTokenSource.CreateLinkedTokenSource(_killed.Token);

    /// <summary>
    /// Cancelled when this incarnation of the silo ends: the cluster declared it dead (it had lost the store for too
    /// long) and gave its jobs to others. Work claimed in an incarnation must stop, without reporting, when it ends.
    /// </summary>
    public CancellationToken Incarnation => Volatile.Read(ref _incarnation).Token;

    /// <summary>Ends the current incarnation and starts the next one.</summary>
    public void BeginNewIncarnation()
    {
        var next = CancellationTokenSource.CreateLinkedTokenSource(_killed.Token);
        var previous = Interlocked.Exchange(ref _incarnation, next);
        previous.Cancel(); // not disposed: tokens of the ended incarnation are still read by work that held them
    }

    /// <summary>Cancelled when the silo is killed.</summary>
    public CancellationToken Killed => _killed.Token;

    /// <summary>True once the silo was killed.</summary>
    public bool IsKilled => _killed.IsCancellationRequested;

    /// <summary>Stops the silo at once: loops end, nothing is released or finished, no more calls are served.</summary>
    public void Kill()
    {
        try { _killed.Cancel(); }
        catch (ObjectDisposedException) { }
    }

    /// <summary>Throws when the silo can no longer serve grain calls.</summary>
    public void ThrowIfKilled()
    {
        if (IsKilled) throw new SiloUnavailableException("This silo was killed or declared dead and serves no more calls.");
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _incarnation.Dispose();
        _killed.Dispose();
    }
}

/// <summary>Thrown when a call reaches a silo that is not serving; the call can be retried on another silo.</summary>
public sealed class SiloUnavailableException(string message) : Exception(message);
