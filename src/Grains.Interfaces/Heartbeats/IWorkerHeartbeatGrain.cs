namespace Orleans.Jobs.Grains.Interfaces.Heartbeats;

/// <summary>
/// The cluster's view of its workers (JobMon's worker heartbeats): every worker — a silo's job runners, a jobset
/// process — beats every <see cref="HeartbeatRules.Interval"/>; anyone can list them by last beat, and a stop signal
/// (JobMon's <c>workers:stop</c>) reaches each worker in the answer to its next beat. Held in memory: after the grain
/// moves, the next round of beats fills it again.
/// </summary>
[Alias("jobs.worker-heartbeats")]
public interface IWorkerHeartbeatGrain : IGrainWithIntegerKey
{
    /// <summary>Records a heartbeat; the answer says whether to carry on or stop.</summary>
    /// <exception cref="ArgumentException">The beat breaks a rule.</exception>
    [Alias("beat")]
    Task<WorkerCommand> BeatAsync(WorkerBeat beat);

    /// <summary>Every worker heard from lately, the most recent beat first.</summary>
    [Alias("list")]
    Task<IReadOnlyList<WorkerInfo>> ListAsync();

    /// <summary>Tells every worker that beat before now to finish its current job and exit; returns how many were told. Workers starting later run normally.</summary>
    [Alias("stop-workers")]
    Task<int> StopWorkersAsync();
}
