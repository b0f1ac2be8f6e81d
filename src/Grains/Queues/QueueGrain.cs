using Orleans.Concurrency;
using Orleans.Jobs.Grains.Interfaces;

namespace Orleans.Jobs.Grains.Queues;

/// <summary>
/// The front door of a queue: a stateless worker activated on whichever silo receives the call (a client's gateway
/// silo, or the calling silo), reentrant so long waits never block other calls. Job operations run on this silo's
/// <see cref="QueueDataPlane"/>; settings and monitoring go to the queue's <see cref="IQueueControlGrain"/>.
/// </summary>
[StatelessWorker, Reentrant]
public sealed class QueueGrain(QueueDataPlane plane) : Grain, IQueueGrain
{
    /// <summary>The queue's name, checked on every call: a bad name fails the call with the rule it breaks.</summary>
    private string Queue
    {
        get
        {
            var queue = this.GetPrimaryKeyString();
            QueueName.Parse(queue);
            return queue;
        }
    }

    /// <inheritdoc />
    public async Task<long> SendAsync(string payload, SendOptions? options = null) =>
        (await plane.SendAsync(Queue, [new JobMessage(payload, options, Expedite: false)]))[0];

    /// <inheritdoc />
    public async Task<long> ExpediteAsync(string payload, SendOptions? options = null) =>
        (await plane.SendAsync(Queue, [new JobMessage(payload, options, Expedite: true)]))[0];

    /// <inheritdoc />
    public Task<IReadOnlyList<long>> SendBatchAsync(IReadOnlyList<JobMessage> jobs) => plane.SendAsync(Queue, jobs);

    /// <inheritdoc />
    public Task<IReadOnlyList<ClaimedJob>> ClaimAsync(ClaimOptions options) => plane.ClaimAsync(Queue, options);

    /// <inheritdoc />
    public Task<IReadOnlyList<ClaimedJob>> WaitAsync(TimeSpan timeout, ClaimOptions options, CancellationToken cancellationToken = default) =>
        plane.WaitAsync(Queue, timeout, options, cancellationToken);

    /// <inheritdoc />
    public Task<JobUpdateOutcome> RenewLeaseAsync(long jobId, Guid leaseToken, TimeSpan? leaseDuration = null) =>
        plane.RenewLeaseAsync(Queue, jobId, leaseToken, leaseDuration);

    /// <inheritdoc />
    public Task<JobUpdateOutcome> FinishAsync(long jobId, Guid leaseToken, string? result = null) => plane.FinishAsync(Queue, jobId, leaseToken, result);

    /// <inheritdoc />
    public Task<FailResult> FailAsync(long jobId, Guid leaseToken, string error) => plane.FailAsync(Queue, jobId, leaseToken, error);

    /// <inheritdoc />
    public Task<JobUpdateOutcome> ReleaseAsync(long jobId, Guid leaseToken) => plane.ReleaseAsync(Queue, jobId, leaseToken);

    /// <inheritdoc />
    public Task<JobInfo?> GetJobAsync(long jobId) => plane.GetJobAsync(Queue, jobId);

    /// <inheritdoc />
    public Task<QueueCounts> GetCountsAsync() => plane.GetCountsAsync(Queue);

    /// <inheritdoc />
    public Task<IReadOnlyList<JobInfo>> GetDeadLettersAsync(int limit = 100) => plane.GetDeadLettersAsync(Queue, limit);

    /// <inheritdoc />
    public Task<IReadOnlyList<JobInfo>> ListJobsAsync(JobListState state, long afterId = 0, int limit = 100) => plane.ListJobsAsync(Queue, state, afterId, limit);

    /// <inheritdoc />
    public Task<int> ExpireUnmonitoredJobsAsync(string owner) => plane.ExpireUnmonitoredJobsAsync(Queue, owner);

    /// <inheritdoc />
    public Task<JobUpdateOutcome> RequeueDeadLetterAsync(long jobId) => plane.RequeueDeadLetterAsync(Queue, jobId);

    /// <inheritdoc />
    public Task<int> PurgeDeadLettersAsync(IReadOnlyList<long>? jobIds) => plane.PurgeDeadLettersAsync(Queue, jobIds);

    /// <inheritdoc />
    public Task<int> RecoverExpiredLeasesAsync() => Control.RecoverExpiredLeasesAsync();

    /// <inheritdoc />
    public async Task ConfigureAsync(QueueSettings settings)
    {
        await Control.ConfigureAsync(settings);
        plane.ForgetSettings(Queue);
    }

    /// <inheritdoc />
    public async Task<QueueSettings> UpdateSettingsAsync(QueueSettingsChanges changes)
    {
        var settings = await Control.UpdateSettingsAsync(changes);
        plane.ForgetSettings(Queue);
        return settings;
    }

    /// <inheritdoc />
    public Task<QueueSettings> GetSettingsAsync() => Control.GetSettingsAsync();

    private IQueueControlGrain Control => GrainFactory.GetGrain<IQueueControlGrain>(Queue);
}
