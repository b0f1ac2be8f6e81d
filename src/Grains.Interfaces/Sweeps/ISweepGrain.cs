namespace Orleans.Jobs.Grains.Interfaces.Sweeps;

/// <summary>
/// The sweeps of one job (JobMon's postsweep/post2Dsweep), keyed by the queue whose handler runs each parameter set.
/// Every parameter set ever posted is remembered by its hash, so an identical set is never run twice, even across
/// postings; results are gathered per parameter set from the job store, with submit time and ground truth.
/// </summary>
[Alias("jobs.sweep")]
public interface ISweepGrain : IGrainWithStringKey
{
    /// <summary>
    /// Posts parameter sets: each new one becomes a job in the queue (its payload is the canonical parameter set);
    /// sets posted before are skipped. <paramref name="ground"/> (a JSON object, JobMon's experiments:ground) is kept
    /// with each experiment this posting adds.
    /// </summary>
    /// <exception cref="ArgumentException">A parameter set, the ground truth or the description breaks a rule; nothing was posted.</exception>
    [Alias("post")]
    Task<SweepPosting> PostAsync(IReadOnlyList<SweepParameters> parameterSets, string? ground, string? description);

    /// <summary>Every experiment with its job's state and result, in the order they were posted.</summary>
    [Alias("get-experiments")]
    Task<IReadOnlyList<SweepExperiment>> GetExperimentsAsync();
}
