using Orleans.Concurrency;

namespace Orleans.Jobs.Grains.Interfaces;

/// <summary>
/// A MarbleRun-style job queue, keyed by queue name: the front door of a queue for clients and silos alike. It is a
/// <c>[StatelessWorker]</c> grain: each silo serves calls to it locally, straight against the job store (the data
/// plane), so a hot queue is never one activation's bottleneck. Settings and the lease monitor live in the queue's
/// one control grain (<see cref="IQueueControlGrain"/>), to which <see cref="ConfigureAsync"/>,
/// <see cref="GetSettingsAsync"/> and <see cref="RecoverExpiredLeasesAsync"/> are forwarded.
/// </summary>
[Alias("jobs.queue")]
public interface IQueueGrain : IGrainWithStringKey
{
    /// <summary>Adds a job at the back of the queue (MarbleRun's send). Returns its id.</summary>
    /// <exception cref="ArgumentException">The payload or options break a rule; nothing was stored.</exception>
    [AlwaysInterleave]
    [Alias("send")]
    Task<long> SendAsync(string payload, SendOptions? options = null);

    /// <summary>Adds a job at the front of the queue for immediate processing (MarbleRun's expedite). Returns its id.</summary>
    [AlwaysInterleave]
    [Alias("expedite")]
    Task<long> ExpediteAsync(string payload, SendOptions? options = null);

    /// <summary>Adds many jobs at once, all or none. Returns their ids in order.</summary>
    [AlwaysInterleave]
    [Alias("send-batch")]
    Task<IReadOnlyList<long>> SendBatchAsync(IReadOnlyList<JobMessage> jobs);

    /// <summary>Claims up to <see cref="ClaimOptions.MaxJobs"/> jobs now, without waiting; may return none.</summary>
    [AlwaysInterleave]
    [Alias("claim")]
    Task<IReadOnlyList<ClaimedJob>> ClaimAsync(ClaimOptions options);

    /// <summary>
    /// Claims jobs, waiting up to <paramref name="timeout"/> for one to arrive (MarbleRun's wait). Blocks without
    /// polling: it wakes when a job is sent or becomes visible. Returns none on timeout.
    /// </summary>
    [AlwaysInterleave, ResponseTimeout(QueueLimits.WaitResponseTimeout)]
    [Alias("wait")]
    Task<IReadOnlyList<ClaimedJob>> WaitAsync(TimeSpan timeout, ClaimOptions options, CancellationToken cancellationToken = default);

    /// <summary>
    /// Extends the lease of a monitored job to now plus <paramref name="leaseDuration"/> (default: the queue's lease);
    /// <see cref="JobUpdateOutcome.LeaseLost"/> when the caller no longer holds it.
    /// </summary>
    [AlwaysInterleave]
    [Alias("renew-lease")]
    Task<JobUpdateOutcome> RenewLeaseAsync(long jobId, Guid leaseToken, TimeSpan? leaseDuration = null);

    /// <summary>Marks a job done (MarbleRun's finish), recording an optional result.</summary>
    [AlwaysInterleave]
    [Alias("finish")]
    Task<JobUpdateOutcome> FinishAsync(long jobId, Guid leaseToken, string? result = null);

    /// <summary>Reports a failed attempt: the job retries after a backoff, or goes to the dead-letter list after its last attempt.</summary>
    [AlwaysInterleave]
    [Alias("fail")]
    Task<FailResult> FailAsync(long jobId, Guid leaseToken, string error);

    /// <summary>Gives a claimed job back without counting the attempt (for shutting down).</summary>
    [AlwaysInterleave]
    [Alias("release")]
    Task<JobUpdateOutcome> ReleaseAsync(long jobId, Guid leaseToken);

    /// <summary>Returns a job of this queue, or null.</summary>
    [AlwaysInterleave]
    [Alias("get-job")]
    Task<JobInfo?> GetJobAsync(long jobId);

    /// <summary>Counts the queue's jobs by state.</summary>
    [AlwaysInterleave]
    [Alias("get-counts")]
    Task<QueueCounts> GetCountsAsync();

    /// <summary>Lists dead-lettered jobs, oldest first.</summary>
    [AlwaysInterleave]
    [Alias("get-dead-letters")]
    Task<IReadOnlyList<JobInfo>> GetDeadLettersAsync(int limit = 100);

    /// <summary>
    /// Lists the queue's jobs in <paramref name="state"/> by id, a page at a time: those with ids above
    /// <paramref name="afterId"/> (0 for the first page), at most <paramref name="limit"/> (1 to
    /// <see cref="QueueLimits.MaxListPage"/>). Pass a page's last id to get the next; a shorter page is the last.
    /// Running jobs show their owner, and no lease when they were claimed unmonitored.
    /// </summary>
    /// <exception cref="ArgumentException">The state, cursor or limit is out of range.</exception>
    [AlwaysInterleave]
    [Alias("list-jobs")]
    Task<IReadOnlyList<JobInfo>> ListJobsAsync(JobListState state, long afterId = 0, int limit = 100);

    /// <summary>
    /// Expires the jobs <paramref name="owner"/> claimed unmonitored and still runs, as a lease expiry would: each is
    /// retried, or dead-lettered on its last attempt, with an error naming the owner. Unmonitored jobs are otherwise
    /// never redone, so this is for an owner known to be gone (find them with <see cref="ListJobsAsync"/>: running,
    /// with no lease). Returns how many.
    /// </summary>
    [AlwaysInterleave]
    [Alias("expire-unmonitored-jobs")]
    Task<int> ExpireUnmonitoredJobsAsync(string owner);

    /// <summary>
    /// Makes a dead-lettered job available again with fresh attempts; <see cref="JobUpdateOutcome.NotDeadLettered"/>
    /// when the job is in another state, <see cref="JobUpdateOutcome.NotFound"/> when the queue has no such job.
    /// </summary>
    [AlwaysInterleave]
    [Alias("requeue-dead-letter")]
    Task<JobUpdateOutcome> RequeueDeadLetterAsync(long jobId);

    /// <summary>
    /// Deletes dead-lettered jobs for good: every dead letter of the queue when <paramref name="jobIds"/> is null, else
    /// those of the listed ids that are dead letters; a listed job in another state (available, running, completed) is
    /// left alone. Returns how many were deleted. There is no default: a caller must name what it deletes.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="jobIds"/> is empty, too long or holds an id that is not positive; nothing was deleted.</exception>
    [AlwaysInterleave]
    [Alias("purge-dead-letters")]
    Task<int> PurgeDeadLettersAsync(IReadOnlyList<long>? jobIds);

    /// <summary>Returns the monitored jobs whose lease expired now (the queue's monitor also does this every <see cref="QueueSettings.MonitorPeriod"/>).</summary>
    [AlwaysInterleave]
    [Alias("recover-expired-leases")]
    Task<int> RecoverExpiredLeasesAsync();

    /// <summary>Replaces the queue's persistent settings, every one of them (see <see cref="UpdateSettingsAsync"/> to change some).</summary>
    /// <exception cref="ArgumentException">A setting is out of range; nothing changed.</exception>
    [Alias("configure")]
    Task ConfigureAsync(QueueSettings settings);

    /// <summary>Changes only the settings <paramref name="changes"/> names, keeping the others; returns the settings now in force.</summary>
    /// <exception cref="ArgumentException">A resulting setting is out of range; nothing changed.</exception>
    [Alias("update-settings")]
    Task<QueueSettings> UpdateSettingsAsync(QueueSettingsChanges changes);

    /// <summary>Returns the queue's settings (the silo defaults until configured).</summary>
    [Alias("get-settings")]
    Task<QueueSettings> GetSettingsAsync();
}
