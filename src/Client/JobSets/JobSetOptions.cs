using Orleans.Jobs.Grains.Interfaces;
using Orleans.Jobs.Grains.Interfaces.JobSets;

namespace Orleans.Jobs.Client.JobSets;

/// <summary>Options of <see cref="JobSet.RunAsync(IGrainFactory, string, Func{string, System.Text.Json.Nodes.JsonObject, CancellationToken, Task}, IEnumerable{string}, IReadOnlyDictionary{string, System.Text.Json.Nodes.JsonObject}?, JobSetOptions?, CancellationToken)"/>.</summary>
public sealed class JobSetOptions
{
    /// <summary>How many times a job is tried before it is recorded as failed (set by whichever worker creates the jobset).</summary>
    public int MaxAttempts { get; set; } = JobSetRules.DefaultMaxAttempts;

    /// <summary>The lease of a claimed job: if this process dies or hangs, its job is redone by another after this long.</summary>
    public TimeSpan LeaseDuration { get; set; } = QueueLimits.DefaultLeaseDuration;

    /// <summary>How many jobs this process runs at once (workerbee: one).</summary>
    public int Concurrency { get; set; } = 1;

    /// <summary>How many jobs go to the cluster per setup call; memory stays proportional to this, not to the jobset.</summary>
    public int BatchSize { get; set; } = 1_000;

    /// <summary>How long a worker with nothing to claim waits before checking whether the set is done.</summary>
    public TimeSpan IdleWait { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How long a worker keeps trying while the cluster or its job store cannot answer (a silo restarting, a database
    /// failover) before it gives up with an error; the jobset is unchanged and a rerun resumes it.
    /// </summary>
    public TimeSpan ClusterErrorTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Prints workerbee's progress lines (creating, adding, "N: claimed 'id'", "All jobs are exhausted, terminating.").</summary>
    public bool Verbose { get; set; }

    /// <summary>Where verbose lines go; standard output when null.</summary>
    public TextWriter? Log { get; set; }

    /// <summary>This worker's name on its claims; the machine, the process id and a random suffix when null.</summary>
    public string? WorkerName { get; set; }

    internal void Validate()
    {
        QueueLimits.CheckRange(Concurrency, 1, 1_000, nameof(Concurrency));
        QueueLimits.CheckRange(BatchSize, 1, JobSetRules.MaxBatchSize, nameof(BatchSize));
        QueueLimits.CheckRange(IdleWait, TimeSpan.FromMilliseconds(10), QueueLimits.MaxWait, nameof(IdleWait));
        QueueLimits.CheckRange(ClusterErrorTimeout, TimeSpan.Zero, TimeSpan.FromDays(1), nameof(ClusterErrorTimeout));
        JobSetRules.Validate(new JobSetDefinition { MaxAttempts = MaxAttempts, LeaseDuration = LeaseDuration });
    }
}

/// <summary>What a worker reports when the jobset is done.</summary>
/// <param name="JobSetId">The jobset.</param>
/// <param name="Total">Jobs in the set.</param>
/// <param name="Completed">Jobs that completed (by any worker).</param>
/// <param name="Failed">Jobs that failed on their last attempt (by any worker).</param>
/// <param name="RunHere">Attempts this worker ran.</param>
/// <param name="FailedHere">Attempts of this worker that threw.</param>
/// <param name="Failures">Failed jobs with their errors (the first 100).</param>
/// <param name="CreatedHere">True when this worker created the jobset.</param>
/// <param name="Elapsed">How long this worker ran.</param>
public sealed record JobSetSummary(
    string JobSetId,
    long Total,
    long Completed,
    long Failed,
    long RunHere,
    long FailedHere,
    IReadOnlyList<JobSetFailure> Failures,
    bool CreatedHere,
    TimeSpan Elapsed)
{
    /// <summary>True when the worker returned because of a stop signal (<c>jobs stop-workers</c>), not because the set was done.</summary>
    public bool Stopped { get; init; }

    /// <inheritdoc />
    public override string ToString() =>
        $"jobset '{JobSetId}': {Completed} of {Total} jobs completed, {Failed} failed; this worker ran {RunHere} attempts ({FailedHere} threw) in {Elapsed.TotalSeconds:0.0}s.";
}
