namespace Orleans.Jobs.Silo.Workers;

/// <summary>
/// Counts a silo's worker slots: jobs running, jobs claimed and waiting for a runner, and the room left for claims
/// (<c>MaxConcurrency + Prefetch</c> less both). Claim loops of all queues share it, so together they never hold more
/// than that; a claim that raced another keeps what fits and gives the rest back.
/// </summary>
internal sealed class WorkerCapacity(int maxConcurrency, int prefetch)
{
    private readonly AsyncPulse _freed = new();
    private int _running;
    private int _waiting;

    /// <summary>Slots in all: runners plus prefetch.</summary>
    public int Total { get; } = maxConcurrency + prefetch;

    /// <summary>Handlers running now.</summary>
    public int Running => Volatile.Read(ref _running);

    /// <summary>Jobs claimed and waiting for a runner.</summary>
    public int Waiting => Volatile.Read(ref _waiting);

    /// <summary>
    /// Waits until there is room worth a claim and returns how much: with prefetch, room for a quarter of it (so claims
    /// stay large), or any room at all while nothing is waiting.
    /// </summary>
    public async Task<int> WaitForRoomAsync(CancellationToken cancellationToken)
    {
        var worthClaiming = Math.Max(1, prefetch / 4);
        while (true)
        {
            var changed = _freed.Next;
            var room = Total - Running - Waiting;
            if (room >= worthClaiming || (room > 0 && Waiting == 0)) return room;
            await changed.WaitAsync(cancellationToken);
        }
    }

    /// <summary>Takes room for up to <paramref name="count"/> claimed jobs; returns how many fit.</summary>
    public int Reserve(int count)
    {
        while (true)
        {
            var waiting = Waiting;
            var take = Math.Clamp(Total - Running - waiting, 0, count);
            if (take == 0 || Interlocked.CompareExchange(ref _waiting, waiting + take, waiting) == waiting) return take;
        }
    }

    /// <summary>A reserved job went to a runner.</summary>
    public void Start()
    {
        Interlocked.Decrement(ref _waiting);
        Interlocked.Increment(ref _running);
    }

    /// <summary>A runner finished its job: its slot is free.</summary>
    public void Finish()
    {
        Interlocked.Decrement(ref _running);
        _freed.Pulse();
    }
}
