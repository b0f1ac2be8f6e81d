using Orleans.Jobs.Grains.Interfaces;

namespace Orleans.Jobs.Storage;

/// <summary>
/// Job rows. Jobs are claimed concurrently without turns; every change that depends on a claim checks the lease token.
/// </summary>
public interface IJobStore
{
    /// <summary>A short name for logs, errors and status, such as "in-memory" or "postgresql".</summary>
    string ProviderName { get; }

    /// <summary>Adds jobs to a queue, all or none; returns their ids in order.</summary>
    Task<IReadOnlyList<long>> EnqueueAsync(string queue, IReadOnlyList<NewJob> jobs, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>
    /// Adds the jobs of several sends, to any queues, at once; returns each send's ids in order, one list per send in
    /// input order. Each send is all or none, as <see cref="EnqueueAsync"/>. A silo's data plane writes the sends that
    /// queue up meanwhile with one call. A provider may write them in one transaction, so that they succeed or fail
    /// together (PostgreSQL does: one insert and one notification per queue); the default adds them one send at a time.
    /// </summary>
    async Task<IReadOnlyList<IReadOnlyList<long>>> EnqueueManyAsync(IReadOnlyList<QueueSend> sends, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var ids = new IReadOnlyList<long>[sends.Count];
        for (var i = 0; i < sends.Count; i++) ids[i] = await EnqueueAsync(sends[i].Queue, sends[i].Jobs, now, cancellationToken);
        return ids;
    }

    /// <summary>
    /// Claims up to <see cref="JobClaim.MaxJobs"/> visible jobs, highest priority first, then front (expedited, newest first), then back in send order.
    /// Each claim raises the job's attempt by one, and records <see cref="JobClaim.ClaimId"/> on the job; a claim with
    /// <see cref="JobClaim.Resume"/> first returns what an earlier claim of that id holds (see there).
    /// </summary>
    Task<IReadOnlyList<ClaimedJob>> ClaimAsync(string queue, JobClaim claim, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Extends a monitored lease to <paramref name="expiresAt"/> if <paramref name="leaseToken"/> still holds the job.</summary>
    Task<JobUpdateOutcome> RenewLeaseAsync(string queue, long jobId, Guid leaseToken, DateTimeOffset expiresAt, CancellationToken cancellationToken);

    /// <summary>
    /// Extends many monitored leases at once, each as <see cref="RenewLeaseAsync"/> would; returns the jobs whose lease
    /// was not extended (their tokens no longer hold them, or they hold no lease). A silo renews everything it holds
    /// with one call per tick. The default renews them one by one; a provider may do it in one statement.
    /// </summary>
    async Task<IReadOnlyList<LeaseRenewal>> RenewLeasesAsync(IReadOnlyList<LeaseRenewal> leases, CancellationToken cancellationToken)
    {
        var notRenewed = new List<LeaseRenewal>();
        foreach (var lease in leases)
        {
            if (await RenewLeaseAsync(lease.Queue, lease.JobId, lease.LeaseToken, lease.ExpiresAt, cancellationToken) != JobUpdateOutcome.Updated)
                notRenewed.Add(lease);
        }

        return notRenewed;
    }

    /// <summary>Completes a running job if <paramref name="leaseToken"/> still holds it.</summary>
    Task<JobUpdateOutcome> CompleteAsync(string queue, long jobId, Guid leaseToken, string? result, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>
    /// Completes running jobs of a queue, each if its lease token still holds it, as <see cref="CompleteAsync(string, long, Guid, string?, DateTimeOffset, CancellationToken)"/>
    /// would one by one; returns each one's outcome in order. Workers record their finished jobs this way, so a
    /// provider that can write many at once (one lock, one statement) should. By default: one completion per job, all at once.
    /// </summary>
    async Task<IReadOnlyList<JobUpdateOutcome>> CompleteManyAsync(string queue, IReadOnlyList<JobCompletion> completions, DateTimeOffset now, CancellationToken cancellationToken) =>
        await Task.WhenAll(completions.Select(c => CompleteAsync(queue, c.JobId, c.LeaseToken, c.Result, now, cancellationToken)));

    /// <summary>Fails a running job if <paramref name="leaseToken"/> still holds it: it retries after a backoff, or is dead-lettered after its last attempt.</summary>
    Task<FailResult> FailAsync(string queue, long jobId, Guid leaseToken, string error, RetryBackoff backoff, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Returns a running job to the queue without counting the attempt (graceful shutdown).</summary>
    Task<JobUpdateOutcome> ReleaseAsync(string queue, long jobId, Guid leaseToken, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Returns the monitored jobs of a queue whose lease expired; those on their last attempt are dead-lettered. Returns how many were handled.</summary>
    Task<int> RecoverExpiredLeasesAsync(string queue, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>
    /// Returns at once the monitored jobs held by <paramref name="owner"/>, as if their leases had expired. Callers pass
    /// the owner of a silo that Orleans membership declared dead; owners name one silo incarnation (address and
    /// generation), so a restarted silo never shares an owner with its dead predecessor.
    /// </summary>
    Task<int> RecoverJobsOfOwnerAsync(string owner, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>
    /// Returns at once the jobs of a queue that <paramref name="owner"/> claimed unmonitored and still runs, as a lease
    /// expiry returns a monitored job: retried, or dead-lettered on its last attempt, with an error naming the owner.
    /// Unmonitored jobs are otherwise never redone; this is for an owner known to be gone. Returns how many.
    /// </summary>
    Task<int> ExpireUnmonitoredJobsAsync(string queue, string owner, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>
    /// A page of a queue's jobs in <paramref name="state"/> (as of <paramref name="now"/>), by id: those with ids above
    /// <paramref name="afterId"/>, at most <paramref name="limit"/>.
    /// </summary>
    Task<IReadOnlyList<JobInfo>> ListJobsAsync(string queue, JobListState state, long afterId, int limit, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Returns a job of a queue, or null.</summary>
    Task<JobInfo?> GetJobAsync(string queue, long jobId, CancellationToken cancellationToken);

    /// <summary>Counts a queue's jobs by state.</summary>
    Task<QueueCounts> GetCountsAsync(string queue, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Lists a queue's dead-lettered jobs, oldest first.</summary>
    Task<IReadOnlyList<JobInfo>> GetDeadLettersAsync(string queue, int limit, CancellationToken cancellationToken);

    /// <summary>Makes a dead-lettered job available again with a fresh set of attempts.</summary>
    Task<JobUpdateOutcome> RequeueDeadLetterAsync(string queue, long jobId, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>
    /// Deletes dead letters of a queue for good: all of them when <paramref name="jobIds"/> is null, else those of the
    /// listed ids that are dead letters of this queue; a listed id of a job in another state or queue, or of no job, is
    /// left alone. Returns how many were deleted.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="jobIds"/> breaks <see cref="QueueLimits.ValidatePurgeJobIds"/>; nothing was deleted.</exception>
    Task<int> PurgeDeadLettersAsync(string queue, IReadOnlyList<long>? jobIds, CancellationToken cancellationToken);

    /// <summary>Deletes a queue's completed jobs finished before <paramref name="completedBefore"/> and dead letters before <paramref name="deadLetteredBefore"/>; returns how many.</summary>
    Task<int> PruneFinishedAsync(string queue, DateTimeOffset completedBefore, DateTimeOffset deadLetteredBefore, CancellationToken cancellationToken);

    /// <summary>The earliest visible-at time among a queue's available jobs, or null when it has none.</summary>
    Task<DateTimeOffset?> GetNextVisibleAtAsync(string queue, CancellationToken cancellationToken);

    /// <summary>
    /// Subscribes to "jobs may have become available" signals for a queue. Subscribe before claiming, so a job
    /// sent between an empty claim and the wait is not missed.
    /// </summary>
    IJobAvailabilitySubscription SubscribeAvailability(string queue);
}

/// <summary>A subscription to a queue's availability signals.</summary>
public interface IJobAvailabilitySubscription : IDisposable
{
    /// <summary>Waits until a signal arrived since subscribing (or since the last wait) or <paramref name="timeout"/> passes; true when signalled.</summary>
    Task<bool> WaitAsync(TimeSpan timeout, TimeProvider timeProvider, CancellationToken cancellationToken);
}
