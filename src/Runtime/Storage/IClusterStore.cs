using Orleans.Jobs.Runtime.Jobs;
using Orleans.Jobs.Runtime.Membership;
using Orleans.Jobs.Runtime.Reminders;

namespace Orleans.Jobs.Runtime;

/// <summary>
/// The one contract every store provider implements: the distributed engine of a cluster. It is split by role so each
/// part stays narrow; <c>StoreConformanceTests</c> is the shared suite every provider must pass.
/// Every operation is keyed by grain, queue or silo, so a provider may shard.
/// </summary>
public interface IClusterStore : IGrainTurnLocks, IGrainStateStore, IReminderTable, IMembershipTable, IJobStore
{
    /// <summary>A short name for logs and errors, such as "in-memory" or "postgresql".</summary>
    string ProviderName { get; }
}

/// <summary>Serializes turns on a grain across the whole cluster.</summary>
public interface IGrainTurnLocks
{
    /// <summary>Waits until no other turn on <paramref name="grain"/> runs anywhere, and holds that until disposed.</summary>
    Task<IAsyncDisposable> AcquireTurnAsync(GrainId grain, CancellationToken cancellationToken);
}

/// <summary>A stored grain state: JSON text and its version.</summary>
public sealed record StoredGrainState(string Json, long Version);

/// <summary>Versioned grain state.</summary>
public interface IGrainStateStore
{
    /// <summary>Returns the stored state, or null when none is stored.</summary>
    Task<StoredGrainState?> ReadStateAsync(GrainId grain, CancellationToken cancellationToken);

    /// <summary>Stores <paramref name="json"/> if the stored version is <paramref name="expectedVersion"/> (0: nothing stored); returns the new version.</summary>
    /// <exception cref="InconsistentStateException">The stored version differs.</exception>
    Task<long> WriteStateAsync(GrainId grain, string json, long expectedVersion, CancellationToken cancellationToken);

    /// <summary>Deletes the state if the stored version is <paramref name="expectedVersion"/>.</summary>
    /// <exception cref="InconsistentStateException">The stored version differs.</exception>
    Task ClearStateAsync(GrainId grain, long expectedVersion, CancellationToken cancellationToken);
}

/// <summary>Durable reminders.</summary>
public interface IReminderTable
{
    /// <summary>Creates or replaces a reminder.</summary>
    Task UpsertReminderAsync(ReminderEntry reminder, CancellationToken cancellationToken);

    /// <summary>Deletes a reminder; returns false when there was none.</summary>
    Task<bool> RemoveReminderAsync(GrainId grain, string name, CancellationToken cancellationToken);

    /// <summary>Returns one reminder, or null.</summary>
    Task<ReminderEntry?> GetReminderAsync(GrainId grain, string name, CancellationToken cancellationToken);

    /// <summary>
    /// Atomically takes the ticks due at <paramref name="now"/>: each returned tick is handed to exactly one caller,
    /// and the reminder moves to its next tick after <paramref name="now"/> (missed ticks are skipped, not replayed).
    /// </summary>
    Task<IReadOnlyList<DueReminderTick>> ClaimDueRemindersAsync(DateTimeOffset now, int maxTicks, CancellationToken cancellationToken);
}

/// <summary>The membership table: which silos exist and whether they are alive.</summary>
public interface IMembershipTable
{
    /// <summary>Adds a silo as active. A silo id may be registered again once it is stopped or dead (a restart or a rejoin).</summary>
    /// <exception cref="InvalidOperationException">A silo with this id is active.</exception>
    Task RegisterSiloAsync(SiloRecord silo, CancellationToken cancellationToken);

    /// <summary>Records a heartbeat. Returns false when the silo was declared dead (it must stop working).</summary>
    Task<bool> HeartbeatAsync(string siloId, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Atomically declares dead every active silo whose last heartbeat is older than <paramref name="heartbeatCutoff"/>; returns those newly declared, each to exactly one caller.</summary>
    Task<IReadOnlyList<SiloRecord>> DeclareDeadSilosAsync(DateTimeOffset heartbeatCutoff, CancellationToken cancellationToken);

    /// <summary>Marks a silo as stopped after a graceful shutdown.</summary>
    Task MarkSiloStoppedAsync(string siloId, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Lists all silos ever registered, newest first.</summary>
    Task<IReadOnlyList<SiloRecord>> GetSilosAsync(CancellationToken cancellationToken);
}

/// <summary>
/// Job rows. Jobs are claimed concurrently without turns; every change that depends on a claim checks the lease token.
/// </summary>
public interface IJobStore
{
    /// <summary>Adds jobs to a queue, all or none; returns their ids in order.</summary>
    Task<IReadOnlyList<long>> EnqueueAsync(string queue, IReadOnlyList<NewJob> jobs, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>
    /// Claims up to <see cref="JobClaim.MaxJobs"/> visible jobs, highest priority first, then front (expedited, newest first), then back in send order.
    /// Each claim raises the job's attempt by one.
    /// </summary>
    Task<IReadOnlyList<ClaimedJob>> ClaimAsync(string queue, JobClaim claim, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Extends a monitored lease to <paramref name="expiresAt"/> if <paramref name="leaseToken"/> still holds the job.</summary>
    Task<JobUpdateOutcome> RenewLeaseAsync(string queue, long jobId, Guid leaseToken, DateTimeOffset expiresAt, CancellationToken cancellationToken);

    /// <summary>Completes a running job if <paramref name="leaseToken"/> still holds it.</summary>
    Task<JobUpdateOutcome> CompleteAsync(string queue, long jobId, Guid leaseToken, string? result, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Fails a running job if <paramref name="leaseToken"/> still holds it: it retries after a backoff, or is dead-lettered after its last attempt.</summary>
    Task<FailResult> FailAsync(string queue, long jobId, Guid leaseToken, string error, RetryBackoff backoff, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Returns a running job to the queue without counting the attempt (graceful shutdown).</summary>
    Task<JobUpdateOutcome> ReleaseAsync(string queue, long jobId, Guid leaseToken, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Returns the monitored jobs of a queue whose lease expired; those on their last attempt are dead-lettered. Returns how many were handled.</summary>
    Task<int> RecoverExpiredLeasesAsync(string queue, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>
    /// Returns at once the monitored jobs held by <paramref name="owner"/>, as if their leases had expired — only while
    /// that owner is a silo declared dead, so a silo that has rejoined keeps the jobs of its new incarnation.
    /// </summary>
    Task<int> RecoverJobsOfOwnerAsync(string owner, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Returns a job of a queue, or null.</summary>
    Task<JobInfo?> GetJobAsync(string queue, long jobId, CancellationToken cancellationToken);

    /// <summary>Counts a queue's jobs by state.</summary>
    Task<QueueCounts> GetCountsAsync(string queue, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Lists a queue's dead-lettered jobs, oldest first.</summary>
    Task<IReadOnlyList<JobInfo>> GetDeadLettersAsync(string queue, int limit, CancellationToken cancellationToken);

    /// <summary>Makes a dead-lettered job available again with a fresh set of attempts.</summary>
    Task<JobUpdateOutcome> RequeueDeadLetterAsync(string queue, long jobId, DateTimeOffset now, CancellationToken cancellationToken);

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
