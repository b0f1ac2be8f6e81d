using Orleans.Jobs.Grains.Interfaces;

namespace Orleans.Jobs.Storage;

/// <summary>Rules every store provider applies the same way, kept in one place.</summary>
public static class JobRules
{
    /// <summary>Why a monitored job came back after its lease ran out.</summary>
    public const string LeaseExpiredReason = "its lease expired: the worker died, hung or stopped heartbeating";

    /// <summary>
    /// The claim position of a job within its priority: back-of-queue jobs sort by when they become visible, front
    /// (expedited) jobs by the reverse, so the newest expedite leads.
    /// </summary>
    public static long Position(bool front, DateTimeOffset visibleAt) => front ? -visibleAt.UtcTicks : visibleAt.UtcTicks;

    /// <summary>Why a monitored job came back after its owner (a silo) was declared dead.</summary>
    public static string OwnerDiedReason(string owner) => $"its worker's silo {owner} was declared dead";

    /// <summary>Why an unmonitored job came back: an operator expired the jobs of its owner, gone.</summary>
    public static string UnmonitoredOwnerGoneReason(string owner) => $"it was claimed unmonitored by {owner}, whose jobs an operator expired as gone";

    /// <summary>The listing a job of <paramref name="state"/> visible at <paramref name="visibleAt"/> appears in at <paramref name="now"/>.</summary>
    public static JobListState ListedAs(JobState state, DateTimeOffset visibleAt, DateTimeOffset now) => state switch
    {
        JobState.Available => visibleAt <= now ? JobListState.Available : JobListState.Scheduled,
        JobState.Running => JobListState.Running,
        JobState.Completed => JobListState.Completed,
        _ => JobListState.DeadLettered,
    };

    /// <summary>The error recorded on a job whose attempt was lost.</summary>
    public static string LostAttempt(int attempt, int maxAttempts, string reason) => $"Attempt {attempt} of {maxAttempts} was lost: {reason}.";

    /// <summary>
    /// The answer to a completion by <paramref name="leaseToken"/> that found the job not held by it: a retry of a
    /// completion that already committed under the same token is answered as the first was (Updated); otherwise the
    /// job is gone (NotFound) or in other hands (LeaseLost).
    /// </summary>
    public static JobUpdateOutcome CompletionNotApplied(JobStanding? job, Guid leaseToken) =>
        job is { State: JobState.Completed } && job.Value.SettledBy == leaseToken ? JobUpdateOutcome.Updated : NotHeld(job);

    /// <summary>
    /// The answer to a fail by <paramref name="leaseToken"/> that found the job not held by it: a retry of a fail that
    /// already committed under the same token gets the first one's outcome (dead-lettered, or the retry it scheduled,
    /// while that retry has not been claimed); otherwise NotFound or LeaseLost.
    /// </summary>
    public static FailResult FailNotApplied(JobStanding? job, Guid leaseToken) => job switch
    {
        null => new FailResult(FailOutcome.NotFound),
        { SettledBy: var token } when token != leaseToken => new FailResult(FailOutcome.LeaseLost),
        { State: JobState.DeadLettered } => new FailResult(FailOutcome.DeadLettered),
        { State: JobState.Available } available => new FailResult(FailOutcome.WillRetry, available.VisibleAt),
        _ => new FailResult(FailOutcome.LeaseLost),
    };

    /// <summary>The answer to a renewal or release that found the job not held by its token.</summary>
    public static JobUpdateOutcome NotHeld(JobStanding? job) => job is null ? JobUpdateOutcome.NotFound : JobUpdateOutcome.LeaseLost;
}

/// <summary>
/// What a store knows of a job whose lease token did not match a change: its state, the lease token of the attempt
/// that settled it last (a finish, or a fail whose retry waits; null for none), and when it becomes visible.
/// </summary>
public readonly record struct JobStanding(JobState State, Guid? SettledBy, DateTimeOffset VisibleAt);
