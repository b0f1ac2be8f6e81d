using Orleans.Jobs.Runtime;
using Orleans.Jobs.Runtime.Jobs;

namespace Orleans.Jobs.Grains.Interfaces;

/// <summary>
/// A MarbleRun-style job queue, keyed by queue name. Jobs are rows claimed concurrently, so the job methods
/// interleave; only settings changes take the grain's turn.
/// </summary>
[GrainType("queue")]
public interface IQueueGrain : IGrainWithStringKey
{
    /// <summary>Adds a job at the back of the queue (MarbleRun's send). Returns its id.</summary>
    /// <exception cref="ArgumentException">The payload or options break a rule; nothing was stored.</exception>
    [AlwaysInterleave]
    Task<long> SendAsync(string payload, SendOptions? options = null);

    /// <summary>Adds a job at the front of the queue for immediate processing (MarbleRun's expedite). Returns its id.</summary>
    [AlwaysInterleave]
    Task<long> ExpediteAsync(string payload, SendOptions? options = null);

    /// <summary>Adds many jobs at once, all or none. Returns their ids in order.</summary>
    [AlwaysInterleave]
    Task<IReadOnlyList<long>> SendBatchAsync(IReadOnlyList<JobMessage> jobs);

    /// <summary>Claims up to <see cref="ClaimOptions.MaxJobs"/> jobs now, without waiting; may return none.</summary>
    [AlwaysInterleave]
    Task<IReadOnlyList<ClaimedJob>> ClaimAsync(ClaimOptions options);

    /// <summary>
    /// Claims jobs, waiting up to <paramref name="timeout"/> for one to arrive (MarbleRun's wait). Blocks without
    /// polling: it wakes when a job is sent or becomes visible. Returns none on timeout.
    /// </summary>
    [AlwaysInterleave]
    Task<IReadOnlyList<ClaimedJob>> WaitAsync(TimeSpan timeout, ClaimOptions options, CancellationToken cancellationToken = default);

    /// <summary>
    /// Extends the lease of a monitored job to now plus <paramref name="leaseDuration"/> (default: the queue's lease);
    /// <see cref="JobUpdateOutcome.LeaseLost"/> when the caller no longer holds it.
    /// </summary>
    [AlwaysInterleave]
    Task<JobUpdateOutcome> RenewLeaseAsync(long jobId, Guid leaseToken, TimeSpan? leaseDuration = null);

    /// <summary>Marks a job done (MarbleRun's finish), recording an optional result.</summary>
    [AlwaysInterleave]
    Task<JobUpdateOutcome> FinishAsync(long jobId, Guid leaseToken, string? result = null);

    /// <summary>Reports a failed attempt: the job retries after a backoff, or goes to the dead-letter list after its last attempt.</summary>
    [AlwaysInterleave]
    Task<FailResult> FailAsync(long jobId, Guid leaseToken, string error);

    /// <summary>Gives a claimed job back without counting the attempt (for shutting down).</summary>
    [AlwaysInterleave]
    Task<JobUpdateOutcome> ReleaseAsync(long jobId, Guid leaseToken);

    /// <summary>Returns a job of this queue, or null.</summary>
    [AlwaysInterleave]
    Task<JobInfo?> GetJobAsync(long jobId);

    /// <summary>Counts the queue's jobs by state.</summary>
    [AlwaysInterleave]
    Task<QueueCounts> GetCountsAsync();

    /// <summary>Lists dead-lettered jobs, oldest first.</summary>
    [AlwaysInterleave]
    Task<IReadOnlyList<JobInfo>> GetDeadLettersAsync(int limit = 100);

    /// <summary>Makes a dead-lettered job available again with fresh attempts.</summary>
    [AlwaysInterleave]
    Task<JobUpdateOutcome> RequeueDeadLetterAsync(long jobId);

    /// <summary>Returns the monitored jobs whose lease expired; the lease monitor reminder calls this each period.</summary>
    [AlwaysInterleave]
    Task<int> RecoverExpiredLeasesAsync();

    /// <summary>Changes the queue's persistent settings.</summary>
    /// <exception cref="ArgumentException">A setting is out of range; nothing changed.</exception>
    Task ConfigureAsync(QueueSettings settings);

    /// <summary>Returns the queue's settings (the silo defaults until configured).</summary>
    Task<QueueSettings> GetSettingsAsync();
}
