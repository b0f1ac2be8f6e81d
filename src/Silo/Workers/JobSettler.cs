using Microsoft.Extensions.Logging;
using Orleans.Jobs.Grains.Interfaces;
using Orleans.Jobs.Grains.Queues;

namespace Orleans.Jobs.Silo.Workers;

/// <summary>A claimed job on its way through a silo: its handler registration, the claim, and its renewed lease (none for unmonitored jobs).</summary>
internal sealed record PendingJob(JobHandlerRegistration Registration, ClaimedJob Job, LeaseRenewals.HeldLease? Lease);

/// <summary>
/// Records jobs' outcomes in the background, so a runner is free as soon as its handler returns: each write is retried
/// while there is no verdict (<see cref="JobOutcomes.AfterSettle"/>), the lease is renewed until it is recorded, and a
/// graceful stop waits for what is still being written.
/// </summary>
internal sealed partial class JobSettler(
    QueueDataPlane plane,
    TimeProvider timeProvider,
    Func<bool> isKilled,
    CancellationToken killed,
    Action<string, long, string> logAbandoned,
    ILogger logger)
{
    private const int SettleTries = 6;
    private readonly HashSet<Task> _settling = [];

    /// <summary>Starts recording <paramref name="action"/> for <paramref name="pending"/> in the background; <paramref name="settled"/> runs when it is done.</summary>
    public void Start(PendingJob pending, SettleAction action, Action? settled = null)
    {
        var settling = SettleAsync(pending, action);
        lock (_settling) _settling.Add(settling);
        settling.ContinueWith(t =>
        {
            lock (_settling) _settling.Remove(t);
            settled?.Invoke();
        }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default); // bookkeeping only: no hop to the thread pool per job
    }

    /// <summary>Waits for every outcome still being recorded, for as long as <paramref name="cancellationToken"/> allows.</summary>
    public async Task DrainAsync(CancellationToken cancellationToken)
    {
        Task[] settling;
        lock (_settling) settling = [.. _settling];
        await Task.WhenAll(settling).WaitAsync(cancellationToken);
    }

    /// <summary>Records a job's outcome, retrying when there is no verdict; the lease is renewed until it is recorded.</summary>
    public async Task SettleAsync(PendingJob pending, SettleAction action)
    {
        var job = pending.Job;
        try
        {
            if (action.Kind == SettleKind.Abandon)
            {
                if (!isKilled()) logAbandoned(job.Queue, job.JobId, action.Text ?? "");
                return;
            }

            for (var attempt = 1; ; attempt++)
            {
                object? outcome = null;
                Exception? error = null;
                try
                {
                    outcome = action.Kind switch
                    {
                        SettleKind.Finish => await plane.FinishAsync(job.Queue, job.JobId, job.LeaseToken, action.Text),
                        SettleKind.Fail => await plane.FailAsync(job.Queue, job.JobId, job.LeaseToken, action.Text ?? ""),
                        _ => await plane.ReleaseAsync(job.Queue, job.JobId, job.LeaseToken),
                    };
                }
                catch (Exception e)
                {
                    error = e;
                }

                if (isKilled()) return;
                switch (JobOutcomes.AfterSettle(outcome, error, attempt, SettleTries))
                {
                    case SettleVerdict.Recorded:
                        return;
                    case SettleVerdict.LeaseLost or SettleVerdict.NotFound:
                        logAbandoned(job.Queue, job.JobId, "its lease was lost before its outcome was recorded");
                        return;
                    case SettleVerdict.Retry:
                        LogSettleRetry(logger, error!, action.Kind, job.Queue, job.JobId, attempt);
                        await Task.Delay(TimeSpan.FromMilliseconds(100 * (1 << attempt)), timeProvider, killed);
                        break;
                    default:
                        LogSettleFailed(logger, error, action.Kind, job.Queue, job.JobId, job.IsMonitored ? "its lease will return it" : "it is unmonitored: inspect it, it stays running");
                        return;
                }
            }
        }
        catch (OperationCanceledException) when (isKilled())
        {
        }
        finally
        {
            if (pending.Lease is { } lease) await lease.DisposeAsync();
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not {Action} job {JobId} of queue {Queue} (try {Attempt}); retrying")]
    private static partial void LogSettleRetry(ILogger logger, Exception exception, SettleKind action, string queue, long jobId, int attempt);

    [LoggerMessage(Level = LogLevel.Error, Message = "Could not {Action} job {JobId} of queue {Queue}; giving up: {Consequence}")]
    private static partial void LogSettleFailed(ILogger logger, Exception? exception, SettleKind action, string queue, long jobId, string consequence);
}
