namespace Orleans.Jobs.Silo.Workers;

/// <summary>
/// Counts a silo's worker slots: jobs running, jobs claimed and waiting for a runner, jobs whose outcome is being
/// recorded, and the room left for claims (<c>MaxConcurrency + look-ahead</c> less all three). Counting outcomes being
/// recorded is the back-pressure: when the store records slower than the runners run, claims wait for it instead of
/// piling up jobs whose leases the silo must keep. Claim loops of all queues share it, so together they never hold more
/// than that; a claim that raced another keeps what fits and gives the rest back.
/// <para>
/// The look-ahead (jobs claimed ahead of the runners) is <see cref="WorkerOptions.Prefetch"/> when that is set.
/// Otherwise it is sized from what the silo observes: the runners' work for <see cref="LookAheadHorizon"/> at the
/// jobs' duration, which is the mean handler time so far, or the mean time the running jobs have run when that is
/// longer (a batch of long jobs shrinks it while it runs). It never exceeds <see cref="WorkerOptions.MaxLookAhead"/>,
/// nor the work the runners do in a quarter of the shortest lease seen, so a prefetched job starts before its first
/// renewal is due; it is 0 until a job has finished. So a silo that dies strands at most that many jobs beyond its
/// running ones, about one horizon of its work, until Orleans declares it dead or their leases run out.
/// </para>
/// </summary>
internal sealed class WorkerCapacity
{
    /// <summary>How far ahead the adaptive look-ahead claims, in time of the runners' work.</summary>
    public static readonly TimeSpan LookAheadHorizon = TimeSpan.FromSeconds(1);

    /// <summary>Weight of the newest handler time in the running mean: about the last 20 jobs count.</summary>
    private const double DurationWeight = 0.05;

    private readonly AsyncPulse _freed = new();
    private readonly int _maxConcurrency;
    private readonly int? _fixedLookAhead;
    private readonly int _maxLookAhead;
    private readonly TimeProvider _time;
    private readonly long[] _runningSince;   // per runner: when its job started (timestamp), 0 when idle
    private long _meanDurationTicks;         // TimeSpan ticks; 0 until a job has finished
    private long _shortestLeaseTicks = long.MaxValue;
    private int _running;
    private int _waiting;
    private int _settling;
    private int _claimLoopsWaiting;

    /// <summary>Slots for <paramref name="maxConcurrency"/> runners and a look-ahead of <paramref name="prefetch"/> jobs, or an adaptive one bounded by <paramref name="maxLookAhead"/> when null.</summary>
    public WorkerCapacity(int maxConcurrency, int? prefetch, int maxLookAhead, TimeProvider time)
    {
        _maxConcurrency = maxConcurrency;
        _fixedLookAhead = prefetch;
        _maxLookAhead = maxLookAhead;
        _time = time;
        _runningSince = new long[maxConcurrency];
    }

    /// <summary>Slots in all: runners plus the look-ahead.</summary>
    public int Total => _maxConcurrency + LookAhead;

    /// <summary>Handlers running now.</summary>
    public int Running => Volatile.Read(ref _running);

    /// <summary>Jobs claimed and waiting for a runner.</summary>
    public int Waiting => Volatile.Read(ref _waiting);

    /// <summary>Jobs whose outcome is being recorded.</summary>
    public int Settling => Volatile.Read(ref _settling);

    /// <summary>Slots taken: running, waiting for a runner, or being recorded.</summary>
    private int Taken => Running + Waiting + Settling;

    /// <summary>The mean handler time observed so far; zero before any job finished.</summary>
    public TimeSpan MeanDuration => TimeSpan.FromTicks(Interlocked.Read(ref _meanDurationTicks));

    /// <summary>Jobs this silo may claim ahead of its runners now (see the class remarks for how it is sized).</summary>
    public int LookAhead
    {
        get
        {
            if (_fixedLookAhead is { } fixedLookAhead) return fixedLookAhead;
            var mean = Interlocked.Read(ref _meanDurationTicks);
            if (mean == 0) return 0; // nothing finished yet: jobs that just started say nothing of how long they take
            var duration = Math.Max(mean, MeanRunningTicks());
            var horizon = Math.Min(LookAheadHorizon.Ticks, Interlocked.Read(ref _shortestLeaseTicks) / 4);
            return (int)Math.Min(_maxLookAhead, (double)_maxConcurrency * horizon / duration);
        }
    }

    /// <summary>
    /// Waits until there is room worth a claim and returns it: with a look-ahead, room for a quarter of it (so claims
    /// stay large), or any room at all while nothing is waiting. <see cref="Room.Total"/> is the slots in all it was
    /// measured against; pass it to <see cref="Reserve"/>.
    /// </summary>
    public async Task<Room> WaitForRoomAsync(CancellationToken cancellationToken)
    {
        // Registered before the check: a slot freed after it sees the waiter and wakes it (see WakeClaimLoops).
        Interlocked.Increment(ref _claimLoopsWaiting);
        try
        {
            while (true)
            {
                var changed = _freed.Next;
                if (RoomWorthClaiming() is { } room) return room;
                await changed.WaitAsync(cancellationToken);
            }
        }
        finally
        {
            Interlocked.Decrement(ref _claimLoopsWaiting);
        }
    }

    /// <summary>The room when it is worth a claim, else null.</summary>
    private Room? RoomWorthClaiming()
    {
        var lookAhead = LookAhead;
        var total = _maxConcurrency + lookAhead;
        var free = total - Taken;
        return free >= Math.Max(1, lookAhead / 4) || (free > 0 && Waiting == 0) ? new Room(free, total) : null;
    }

    /// <summary>
    /// Wakes the claim loops once a freed slot makes room worth a claim, not on every slot: a loop waiting for a
    /// quarter of a look-ahead of 2,000 would otherwise wake 500 times for one claim.
    /// </summary>
    private void WakeClaimLoops()
    {
        if (Volatile.Read(ref _claimLoopsWaiting) > 0 && RoomWorthClaiming() is not null) _freed.Pulse();
    }

    /// <summary>Free slots, out of <paramref name="Total"/> slots in all.</summary>
    public readonly record struct Room(int Free, int Total);

    /// <summary>Notes the lease of a claimed job: the look-ahead holds no more than a quarter of the shortest lease's work.</summary>
    public void ObserveLease(TimeSpan? lease)
    {
        if (lease is not { } l) return;
        var seen = Interlocked.Read(ref _shortestLeaseTicks);
        while (l.Ticks < seen)
        {
            var was = Interlocked.CompareExchange(ref _shortestLeaseTicks, l.Ticks, seen);
            if (was == seen) return;
            seen = was;
        }
    }

    /// <summary>
    /// Takes room for up to <paramref name="count"/> claimed jobs; returns how many fit. Room is counted against
    /// <paramref name="totalSeen"/> when that is more than the slots now: a claim sized by <see cref="WaitForRoomAsync"/>
    /// keeps what it claimed though the look-ahead shrank meanwhile, and only claims of other queues that raced it are cut.
    /// </summary>
    public int Reserve(int count, int totalSeen = 0)
    {
        while (true)
        {
            var waiting = Waiting;
            var take = Math.Clamp(Math.Max(Total, totalSeen) - Running - waiting - Settling, 0, count);
            if (take == 0 || Interlocked.CompareExchange(ref _waiting, waiting + take, waiting) == waiting) return take;
        }
    }

    /// <summary>A reserved job went to runner <paramref name="runner"/>.</summary>
    public void Start(int runner)
    {
        Interlocked.Decrement(ref _waiting);
        Interlocked.Increment(ref _running);
        Volatile.Write(ref _runningSince[runner], _time.GetTimestamp());
    }

    /// <summary>A job's outcome is being recorded: it keeps its slot until <see cref="Settled"/>.</summary>
    public void StartSettling() => Interlocked.Increment(ref _settling);

    /// <summary>A job's outcome is recorded (or given up on): its slot is free.</summary>
    public void Settled()
    {
        Interlocked.Decrement(ref _settling);
        WakeClaimLoops();
    }

    /// <summary>Runner <paramref name="runner"/> finished its job (its outcome, if any, is settling now): its handler time counts in the mean.</summary>
    public void Finish(int runner)
    {
        var took = _time.GetElapsedTime(Volatile.Read(ref _runningSince[runner])).Ticks;
        Volatile.Write(ref _runningSince[runner], 0);
        var mean = Interlocked.Read(ref _meanDurationTicks);
        while (true)
        {
            var next = mean == 0 ? Math.Max(1, took) : Math.Max(1, (long)(mean + DurationWeight * (took - mean)));
            var was = Interlocked.CompareExchange(ref _meanDurationTicks, next, mean);
            if (was == mean) break;
            mean = was; // another runner's update won: fold this one into it
        }

        Interlocked.Decrement(ref _running);
        WakeClaimLoops();
    }

    /// <summary>The mean time the jobs running now have run so far, in TimeSpan ticks; 0 when none runs.</summary>
    private long MeanRunningTicks()
    {
        var now = _time.GetTimestamp();
        long sum = 0;
        var count = 0;
        for (var runner = 0; runner < _runningSince.Length; runner++)
        {
            var started = Volatile.Read(ref _runningSince[runner]);
            if (started == 0) continue;
            sum += _time.GetElapsedTime(started, now).Ticks;
            count++;
        }

        return count == 0 ? 0 : sum / count;
    }
}
