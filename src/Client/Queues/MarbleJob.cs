using Orleans.Jobs.Grains.Interfaces;

namespace Orleans.Jobs.Client.Queues;

/// <summary>
/// A job claimed through <see cref="Marble"/>. While it is held, its lease is renewed in the background; finish,
/// fail or release it. As in MarbleRun, a job not finished is failed: disposing a job that was never settled (a worker
/// leaving <c>await using</c> by an exception) fails the attempt with <see cref="AbandonedError"/>, so it is retried
/// after its backoff or dead-lettered on its last attempt.
/// </summary>
public sealed class MarbleJob : IAsyncDisposable
{
    private readonly IQueueGrain _queue;
    private readonly LeaseHeartbeat _heartbeat;
    private int _settled;
    private int _heartbeatStopped;
    private int _leftUnsettled;

    /// <summary>The error recorded when a job is disposed without being finished, failed or released.</summary>
    public const string AbandonedError = "abandoned: the worker left without finishing it";

    internal MarbleJob(IQueueGrain queue, ClaimedJob claim, TimeProvider timeProvider)
    {
        _queue = queue;
        Claim = claim;
        _heartbeat = new LeaseHeartbeat(lease => queue.RenewLeaseAsync(claim.JobId, claim.LeaseToken, lease), claim, timeProvider);
    }

    /// <summary>The claim: job id, payload, attempt, lease.</summary>
    public ClaimedJob Claim { get; }

    /// <summary>The job id.</summary>
    public long JobId => Claim.JobId;

    /// <summary>The queue it came from.</summary>
    public string Queue => Claim.Queue;

    /// <summary>The job's data.</summary>
    public string Data => Claim.Payload;

    /// <summary>Which attempt this is, from 1.</summary>
    public int Attempt => Claim.Attempt;

    /// <summary>Cancelled when the lease was lost: the job may be running elsewhere, so stop working on it.</summary>
    public CancellationToken LeaseLost => _heartbeat.LeaseLost;

    /// <summary>Marks the job done, with an optional result.</summary>
    /// <exception cref="JobLeaseLostException">The job was no longer held: it was recovered and may have run elsewhere.</exception>
    public Task FinishAsync(string? result = null) =>
        SettleAsync(async () => Check(await _queue.FinishAsync(JobId, Claim.LeaseToken, result), "finish"));

    /// <summary>Reports a failed attempt; returns whether the job will retry or was dead-lettered.</summary>
    /// <exception cref="JobLeaseLostException">The job was no longer held.</exception>
    public async Task<FailResult> FailAsync(string error)
    {
        FailResult? result = null;
        await SettleAsync(async () =>
        {
            result = await _queue.FailAsync(JobId, Claim.LeaseToken, error);
            if (result.Outcome == FailOutcome.LeaseLost) Check(JobUpdateOutcome.LeaseLost, "fail");
            if (result.Outcome == FailOutcome.NotFound) Check(JobUpdateOutcome.NotFound, "fail");
        });
        return result!;
    }

    /// <summary>Gives the job back without counting the attempt.</summary>
    public Task ReleaseAsync() =>
        SettleAsync(async () => Check(await _queue.ReleaseAsync(JobId, Claim.LeaseToken), "release"));

    /// <summary>
    /// Stops renewing the lease and records nothing, as if this worker hung: the job stays this worker's until its
    /// lease runs out, then the queue's monitor returns it (the attempt counts). An unmonitored job stays running
    /// (see <see cref="IQueueGrain.ExpireUnmonitoredJobsAsync"/>). The job can still be settled afterwards, until it
    /// is recovered; disposing it no longer fails it.
    /// </summary>
    public async ValueTask AbandonAsync()
    {
        Interlocked.Exchange(ref _leftUnsettled, 1);
        await StopRenewingAsync();
    }

    /// <summary>
    /// Stops renewing the lease and, if the job was never settled, abandoned, or lost, fails the attempt with
    /// <see cref="AbandonedError"/> (MarbleRun: a job not finished is failed). Never throws: if the fail cannot be
    /// recorded (the cluster cannot be reached, or the job was meanwhile recovered), a monitored job comes back when
    /// its lease runs out.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        await StopRenewingAsync();
        if (LeaseLost.IsCancellationRequested || Volatile.Read(ref _leftUnsettled) != 0 || Interlocked.Exchange(ref _settled, 1) != 0) return;
        try
        {
            await _queue.FailAsync(JobId, Claim.LeaseToken, AbandonedError);
        }
        catch (Exception)
        {
            // Disposal must not hide the exception that made the worker leave; the lease returns the job.
        }
    }

    private async ValueTask StopRenewingAsync()
    {
        if (Interlocked.Exchange(ref _heartbeatStopped, 1) == 0)
            await _heartbeat.DisposeAsync();
    }

    /// <summary>Settles the job once. A call that did not reach a verdict (a network error) may be repeated.</summary>
    private async Task SettleAsync(Func<Task> settle)
    {
        if (Interlocked.Exchange(ref _settled, 1) != 0)
            throw new InvalidOperationException($"Job {JobId} of queue '{Queue}' was already finished, failed or released.");
        try
        {
            await StopRenewingAsync();
            await settle();
        }
        catch (Exception e) when (e is not InvalidOperationException and not KeyNotFoundException and not ArgumentException)
        {
            Volatile.Write(ref _settled, 0); // no verdict: let the caller try again
            throw;
        }
    }

    private void Check(JobUpdateOutcome outcome, string action)
    {
        switch (outcome)
        {
            case JobUpdateOutcome.LeaseLost:
                throw new JobLeaseLostException(Queue, JobId, action);
            case JobUpdateOutcome.NotFound:
                throw new KeyNotFoundException($"Job {JobId} is not in queue '{Queue}'.");
        }
    }
}

/// <summary>A job could not be settled because its holder no longer holds it.</summary>
public sealed class JobLeaseLostException(string queue, long jobId, string action)
    : InvalidOperationException($"Cannot {action} job {jobId} of queue '{queue}': this worker no longer holds it (its lease expired or it was recovered), so it may have run elsewhere.")
{
    /// <summary>The queue.</summary>
    public string Queue { get; } = queue;

    /// <summary>The job.</summary>
    public long JobId { get; } = jobId;
}
