namespace Orleans.Jobs.Runtime.Jobs;

/// <summary>Where a job is in its life.</summary>
public enum JobState
{
    /// <summary>Waiting to be claimed (possibly not visible until its visible-at time).</summary>
    Available = 0,

    /// <summary>Claimed by a worker.</summary>
    Running = 1,

    /// <summary>Finished successfully.</summary>
    Completed = 2,

    /// <summary>Failed or lost its worker on its last allowed attempt; kept for inspection and manual requeue.</summary>
    DeadLettered = 3,
}

/// <summary>A job to add to a queue.</summary>
/// <param name="Payload">The job's data. Opaque to the runtime (often JSON).</param>
/// <param name="Priority">Higher runs first. Jobs of equal priority run in queue order.</param>
/// <param name="VisibleAt">The job cannot be claimed before this time; null means at once.</param>
/// <param name="Front">True puts the job at the front of its priority (expedite); false at the back (send).</param>
/// <param name="MaxAttempts">How many times the job may be claimed before it is dead-lettered.</param>
public sealed record NewJob(string Payload, int Priority, DateTimeOffset? VisibleAt, bool Front, int MaxAttempts);

/// <summary>A request to claim jobs.</summary>
/// <param name="MaxJobs">The most jobs to claim at once.</param>
/// <param name="LeaseDuration">Monitored claims take a lease of this length; null claims without a lease (unmonitored).</param>
/// <param name="Owner">Who claims: a silo id for worker grains, a client id for clients. Jobs of a dead silo are recovered by this.</param>
/// <param name="Node">The node of the claimer; a seam for node-local queues.</param>
public sealed record JobClaim(int MaxJobs, TimeSpan? LeaseDuration, string Owner, string? Node = null);

/// <summary>A job handed to a worker by a claim.</summary>
public sealed record ClaimedJob(
    long JobId,
    string Queue,
    string Payload,
    int Priority,
    int Attempt,
    int MaxAttempts,
    Guid LeaseToken,
    TimeSpan? LeaseDuration,
    DateTimeOffset? LeaseExpiresAt,
    DateTimeOffset EnqueuedAt)
{
    /// <summary>True when the claim holds a lease that must be renewed (a monitored claim).</summary>
    public bool IsMonitored => LeaseDuration is not null;
}

/// <summary>Everything stored about one job.</summary>
public sealed record JobInfo(
    long JobId,
    string Queue,
    JobState State,
    string Payload,
    int Priority,
    int Attempt,
    int MaxAttempts,
    DateTimeOffset EnqueuedAt,
    DateTimeOffset VisibleAt,
    string? Owner,
    DateTimeOffset? LeaseExpiresAt,
    DateTimeOffset? FinishedAt,
    string? Result,
    string? LastError);

/// <summary>How many jobs of a queue are in each state.</summary>
/// <param name="Available">Claimable now.</param>
/// <param name="Scheduled">Waiting for their visible-at time (delayed sends and retries).</param>
/// <param name="Running">Claimed.</param>
/// <param name="Completed">Finished.</param>
/// <param name="DeadLettered">Given up on after their last attempt.</param>
public sealed record QueueCounts(long Available, long Scheduled, long Running, long Completed, long DeadLettered);

/// <summary>The result of finishing, renewing or releasing a job.</summary>
public enum JobUpdateOutcome
{
    /// <summary>The change was made.</summary>
    Updated = 0,

    /// <summary>No such job in this queue.</summary>
    NotFound = 1,

    /// <summary>The job exists but the caller no longer holds it: its lease token does not match or the job is not running.</summary>
    LeaseLost = 2,
}

/// <summary>What happened to a failed job.</summary>
public enum FailOutcome
{
    /// <summary>The job will run again at <see cref="FailResult.RetryAt"/>.</summary>
    WillRetry = 0,

    /// <summary>That was its last attempt: the job is in the dead-letter list.</summary>
    DeadLettered = 1,

    /// <summary>No such job in this queue.</summary>
    NotFound = 2,

    /// <summary>The caller no longer holds the job; nothing changed.</summary>
    LeaseLost = 3,
}

/// <summary>The result of failing a job.</summary>
public sealed record FailResult(FailOutcome Outcome, DateTimeOffset? RetryAt = null);

/// <summary>
/// How long a failed job waits before its next attempt: <see cref="Base"/> doubled per attempt, capped at <see cref="Max"/>.
/// </summary>
public sealed record RetryBackoff(TimeSpan Base, TimeSpan Max)
{
    /// <summary>The delay before the attempt after <paramref name="failedAttempt"/>.</summary>
    public TimeSpan DelayAfter(int failedAttempt)
    {
        var exponent = Math.Clamp(failedAttempt - 1, 0, 30);
        var ticks = Math.Min((double)Base.Ticks * Math.Pow(2, exponent), Max.Ticks);
        return TimeSpan.FromTicks((long)ticks);
    }
}
