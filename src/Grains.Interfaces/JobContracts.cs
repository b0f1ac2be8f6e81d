namespace Orleans.Jobs.Grains.Interfaces;

/// <summary>Where a job is in its life.</summary>
[GenerateSerializer, Alias("jobs.JobState")]
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

/// <summary>A job handed to a worker by a claim.</summary>
[GenerateSerializer, Immutable, Alias("jobs.ClaimedJob")]
public sealed record ClaimedJob(
    [property: Id(0)] long JobId,
    [property: Id(1)] string Queue,
    [property: Id(2)] string Payload,
    [property: Id(3)] int Priority,
    [property: Id(4)] int Attempt,
    [property: Id(5)] int MaxAttempts,
    [property: Id(6)] Guid LeaseToken,
    [property: Id(7)] TimeSpan? LeaseDuration,
    [property: Id(8)] DateTimeOffset? LeaseExpiresAt,
    [property: Id(9)] DateTimeOffset EnqueuedAt)
{
    /// <summary>True when the claim holds a lease that must be renewed (a monitored claim).</summary>
    public bool IsMonitored => LeaseDuration is not null;
}

/// <summary>Everything stored about one job.</summary>
[GenerateSerializer, Immutable, Alias("jobs.JobInfo")]
public sealed record JobInfo(
    [property: Id(0)] long JobId,
    [property: Id(1)] string Queue,
    [property: Id(2)] JobState State,
    [property: Id(3)] string Payload,
    [property: Id(4)] int Priority,
    [property: Id(5)] int Attempt,
    [property: Id(6)] int MaxAttempts,
    [property: Id(7)] DateTimeOffset EnqueuedAt,
    [property: Id(8)] DateTimeOffset VisibleAt,
    [property: Id(9)] string? Owner,
    [property: Id(10)] DateTimeOffset? LeaseExpiresAt,
    [property: Id(11)] DateTimeOffset? FinishedAt,
    [property: Id(12)] string? Result,
    [property: Id(13)] string? LastError);

/// <summary>Which of a queue's jobs a listing shows: the states <see cref="QueueCounts"/> counts.</summary>
[GenerateSerializer, Alias("jobs.JobListState")]
public enum JobListState
{
    /// <summary>Claimable now.</summary>
    Available = 0,

    /// <summary>Waiting for their visible-at time (delayed sends and retries).</summary>
    Scheduled = 1,

    /// <summary>Claimed: <see cref="JobInfo.Owner"/> names the claimer; <see cref="JobInfo.LeaseExpiresAt"/> is null for an unmonitored claim.</summary>
    Running = 2,

    /// <summary>Finished.</summary>
    Completed = 3,

    /// <summary>Given up on after their last attempt.</summary>
    DeadLettered = 4,
}

/// <summary>How many jobs of a queue are in each state.</summary>
/// <param name="Available">Claimable now.</param>
/// <param name="Scheduled">Waiting for their visible-at time (delayed sends and retries).</param>
/// <param name="Running">Claimed.</param>
/// <param name="Completed">Finished.</param>
/// <param name="DeadLettered">Given up on after their last attempt.</param>
[GenerateSerializer, Immutable, Alias("jobs.QueueCounts")]
public sealed record QueueCounts(
    [property: Id(0)] long Available,
    [property: Id(1)] long Scheduled,
    [property: Id(2)] long Running,
    [property: Id(3)] long Completed,
    [property: Id(4)] long DeadLettered);

/// <summary>The result of finishing, renewing or releasing a job.</summary>
[GenerateSerializer, Alias("jobs.JobUpdateOutcome")]
public enum JobUpdateOutcome
{
    /// <summary>The change was made.</summary>
    Updated = 0,

    /// <summary>No such job in this queue.</summary>
    NotFound = 1,

    /// <summary>The job exists but the caller no longer holds it: its lease token does not match or the job is not running.</summary>
    LeaseLost = 2,

    /// <summary>A requeue named a job that exists but is not dead-lettered (it is available, scheduled, running or completed); nothing changed.</summary>
    NotDeadLettered = 3,
}

/// <summary>What happened to a failed job.</summary>
[GenerateSerializer, Alias("jobs.FailOutcome")]
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
[GenerateSerializer, Immutable, Alias("jobs.FailResult")]
public sealed record FailResult(
    [property: Id(0)] FailOutcome Outcome,
    [property: Id(1)] DateTimeOffset? RetryAt = null);

