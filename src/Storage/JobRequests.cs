using Orleans.Jobs.Grains.Interfaces;

namespace Orleans.Jobs.Storage;

/// <summary>A job to add to a queue.</summary>
/// <param name="Payload">The job's data. Opaque to the runtime (often JSON).</param>
/// <param name="Priority">Higher runs first. Jobs of equal priority run in queue order.</param>
/// <param name="VisibleAt">The job cannot be claimed before this time; null means at once.</param>
/// <param name="Front">True puts the job at the front of its priority (expedite); false at the back (send).</param>
/// <param name="MaxAttempts">How many times the job may be claimed before it is dead-lettered.</param>
public sealed record NewJob(string Payload, int Priority, DateTimeOffset? VisibleAt, bool Front, int MaxAttempts);

/// <summary>A completion of a running job, one of a batch (<see cref="IJobStore.CompleteManyAsync"/>).</summary>
/// <param name="JobId">The job.</param>
/// <param name="LeaseToken">The token of the claim that holds it.</param>
/// <param name="Result">The handler's result, if any.</param>
public readonly record struct JobCompletion(long JobId, Guid LeaseToken, string? Result);

/// <summary>One caller's send among several written together (<see cref="IJobStore.EnqueueManyAsync"/>): jobs for <paramref name="Queue"/>.</summary>
public sealed record QueueSend(string Queue, IReadOnlyList<NewJob> Jobs);

/// <summary>A request to claim jobs.</summary>
/// <param name="MaxJobs">The most jobs to claim at once.</param>
/// <param name="LeaseDuration">Monitored claims take a lease of this length; null claims without a lease (unmonitored).</param>
/// <param name="Owner">Who claims: a silo id for worker grains, a client id for clients. Jobs of a dead silo are recovered by this.</param>
/// <param name="Node">The node of the claimer; a seam for node-local queues.</param>
public sealed record JobClaim(int MaxJobs, TimeSpan? LeaseDuration, string Owner, string? Node = null)
{
    /// <summary>
    /// Chosen by the claimer and recorded on the jobs the claim takes, so a claim whose answer was lost (it committed,
    /// the reply never came) can be found again with <see cref="Resume"/>. A fresh id per claim unless set.
    /// </summary>
    public Guid ClaimId { get; init; } = UnguessableIds.Next();

    /// <summary>
    /// True when an earlier claim with this <see cref="ClaimId"/> failed without an answer: the jobs it holds are
    /// returned again (their attempt is not counted twice), at most <see cref="MaxJobs"/> of them with leases renewed
    /// from now and the rest given back uncounted; when it holds none, this claims as usual.
    /// </summary>
    public bool Resume { get; init; }
}

/// <summary>
/// How a failed job is retried: it waits <see cref="Base"/> doubled per attempt, capped at <see cref="Max"/>, and its
/// priority drops by <see cref="PriorityDrop"/> (never below <see cref="QueueLimits.MinPriority"/>).
/// </summary>
public sealed record RetryBackoff(TimeSpan Base, TimeSpan Max, int PriorityDrop = 0)
{
    /// <summary>The priority of the retry of a job of <paramref name="priority"/>.</summary>
    public int RetryPriority(int priority) => (int)Math.Max((long)priority - PriorityDrop, QueueLimits.MinPriority);

    /// <summary>The delay before the attempt after <paramref name="failedAttempt"/>.</summary>
    public TimeSpan DelayAfter(int failedAttempt)
    {
        var exponent = Math.Clamp(failedAttempt - 1, 0, 30);
        var ticks = Math.Min((double)Base.Ticks * Math.Pow(2, exponent), Max.Ticks);
        return TimeSpan.FromTicks((long)ticks);
    }
}

/// <summary>One lease to extend in <see cref="IJobStore.RenewLeasesAsync"/>: job <paramref name="JobId"/> of <paramref name="Queue"/>, held by <paramref name="LeaseToken"/>, until <paramref name="ExpiresAt"/>.</summary>
public sealed record LeaseRenewal(string Queue, long JobId, Guid LeaseToken, DateTimeOffset ExpiresAt);
