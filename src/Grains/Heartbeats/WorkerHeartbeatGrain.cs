using Orleans.Jobs.Grains.Interfaces.Heartbeats;

namespace Orleans.Jobs.Grains.Heartbeats;

/// <summary>Worker heartbeats in memory: the latest beat, time in status and a short history per worker, and stop signals.</summary>
public sealed class WorkerHeartbeatGrain(TimeProvider timeProvider) : Grain, IWorkerHeartbeatGrain
{
    private readonly Dictionary<string, Tracked> _workers = new(StringComparer.Ordinal);
    private DateTimeOffset? _stopBefore;

    /// <inheritdoc />
    public Task<WorkerCommand> BeatAsync(WorkerBeat beat)
    {
        HeartbeatRules.Validate(beat);
        var now = timeProvider.GetUtcNow();
        if (!_workers.TryGetValue(beat.WorkerId, out var worker))
        {
            if (_workers.Count >= HeartbeatRules.MaxWorkers) Forget(now, keep: HeartbeatRules.MaxWorkers - 1);
            _workers[beat.WorkerId] = worker = new Tracked(beat.StartedAt);
        }

        worker.Record(beat, now);
        // A stop reaches the workers that were running when it was asked for, not those started since.
        if (_stopBefore is { } stop && beat.StartedAt <= stop) worker.StopRequested = true;
        return Task.FromResult(worker.StopRequested ? WorkerCommand.Stop : WorkerCommand.Continue);
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<WorkerInfo>> ListAsync()
    {
        Forget(timeProvider.GetUtcNow(), keep: HeartbeatRules.MaxWorkers);
        IReadOnlyList<WorkerInfo> list = [.. _workers.Values.OrderByDescending(w => w.LastBeat).Select(w => w.ToInfo())];
        return Task.FromResult(list);
    }

    /// <inheritdoc />
    public Task<int> StopWorkersAsync()
    {
        var now = timeProvider.GetUtcNow();
        _stopBefore = now;
        var told = 0;
        foreach (var worker in _workers.Values.Where(w => w.StartedAt <= now && now - w.LastBeat < HeartbeatRules.ForgetAfter))
        {
            worker.StopRequested = true;
            told++;
        }

        return Task.FromResult(told);
    }

    private void Forget(DateTimeOffset now, int keep)
    {
        foreach (var silent in _workers.Where(w => now - w.Value.LastBeat >= HeartbeatRules.ForgetAfter).Select(w => w.Key).ToList())
            _workers.Remove(silent);
        foreach (var oldest in _workers.OrderBy(w => w.Value.LastBeat).Take(Math.Max(0, _workers.Count - keep)).Select(w => w.Key).ToList())
            _workers.Remove(oldest);
    }

    private sealed class Tracked(DateTimeOffset startedAt)
    {
        private readonly LinkedList<WorkerStatusChange> _history = new();

        public DateTimeOffset StartedAt { get; } = startedAt;
        public WorkerBeat? Beat { get; private set; }
        public DateTimeOffset LastBeat { get; private set; }
        public bool StopRequested { get; set; }

        public void Record(WorkerBeat beat, DateTimeOffset now)
        {
            if (Beat is null || Beat.Status != beat.Status || Beat.CurrentJob != beat.CurrentJob)
            {
                _history.AddFirst(new WorkerStatusChange(beat.Status, now, beat.CurrentJob));
                if (_history.Count > HeartbeatRules.HistoryLength) _history.RemoveLast();
            }

            Beat = beat;
            LastBeat = now;
        }

        public WorkerInfo ToInfo() => new(Beat!, LastBeat, StatusSince(), [.. _history], StopRequested);

        /// <summary>When the current status began: the oldest of the newest run of changes with that status (a new job while working is not a new status).</summary>
        private DateTimeOffset StatusSince()
        {
            var since = _history.First!.Value.Since;
            foreach (var change in _history)
            {
                if (change.Status != Beat!.Status) break;
                since = change.Since;
            }

            return since;
        }
    }
}
