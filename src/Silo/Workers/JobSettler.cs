using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Orleans.Jobs.Grains.Interfaces;
using Orleans.Jobs.Grains.Queues;
using Orleans.Jobs.Storage;

namespace Orleans.Jobs.Silo.Workers;

/// <summary>
/// A claimed job on its way through a silo: its handler registration, the claim, its renewed lease (none for
/// unmonitored jobs), and the cancellation its handler gets: cancelled when the lease is lost (by
/// <see cref="LeaseRenewals"/>) or when the silo stops its jobs.
/// </summary>
internal sealed record PendingJob(JobHandlerRegistration Registration, ClaimedJob Job, LeaseRenewals.HeldLease? Lease, CancellationTokenSource Cancellation);

/// <summary>
/// Records jobs' outcomes in the background, so a runner is free as soon as its handler returns: each write is retried
/// while there is no verdict (<see cref="JobOutcomes.AfterSettle"/>), the lease is renewed until it is recorded, and a
/// graceful stop waits for what is still being written.
/// <para>
/// Finished jobs, nearly all of them, are recorded in batches: one loop takes every finish that queued up while it
/// wrote the last batch and records them per queue in one store call (<see cref="QueueDataPlane.FinishManyAsync"/>).
/// An idle silo writes at once, a busy one amortises. A batch that fails as a whole falls back to a write per job,
/// with that write's retries. Fails and releases are rare and go one by one.
/// </para>
/// </summary>
internal sealed partial class JobSettler
{
    private const int SettleTries = 6;
    private const int MaxFinishBatch = QueueLimits.MaxBatchSize;
    private readonly QueueDataPlane _plane;
    private readonly TimeProvider _timeProvider;
    private readonly Func<bool> _isKilled;
    private readonly CancellationToken _killed;
    private readonly Action<string, long, string> _logAbandoned;
    private readonly ILogger _logger;
    private readonly HashSet<Task> _settling = [];
    private readonly Channel<Finished> _finished =
        Channel.CreateUnbounded<Finished>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Task _finishing;

    public JobSettler(QueueDataPlane plane, TimeProvider timeProvider, Func<bool> isKilled, CancellationToken killed, Action<string, long, string> logAbandoned, ILogger logger)
    {
        _plane = plane;
        _timeProvider = timeProvider;
        _isKilled = isKilled;
        _killed = killed;
        _logAbandoned = logAbandoned;
        _logger = logger;
        _finishing = Task.Run(RecordFinishedAsync);
    }

    /// <summary>A finished job waiting for its batch, and what to call once its outcome is recorded.</summary>
    private readonly record struct Finished(PendingJob Job, string? Result, Action? Settled);

    /// <summary>Starts recording <paramref name="action"/> for <paramref name="pending"/> in the background; <paramref name="settled"/> runs when it is done.</summary>
    public void Start(PendingJob pending, SettleAction action, Action? settled = null)
    {
        if (action.Kind == SettleKind.Finish && _finished.Writer.TryWrite(new Finished(pending, action.Text, settled))) return;
        Track(SettleAsync(pending, action), settled);
    }

    /// <summary>Waits for every outcome still being recorded, for as long as <paramref name="cancellationToken"/> allows.</summary>
    public async Task DrainAsync(CancellationToken cancellationToken)
    {
        _finished.Writer.TryComplete(); // finishes from now on are written one by one
        await _finishing.WaitAsync(cancellationToken);
        Task[] settling;
        lock (_settling) settling = [.. _settling];
        await Task.WhenAll(settling).WaitAsync(cancellationToken);
    }

    private void Track(Task settling, Action? settled)
    {
        lock (_settling) _settling.Add(settling);
        settling.ContinueWith(t =>
        {
            lock (_settling) _settling.Remove(t);
            settled?.Invoke();
        }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default); // bookkeeping only: no hop to the thread pool per job
    }

    private async Task RecordFinishedAsync()
    {
        var batch = new List<Finished>();
        var sameQueue = new List<Finished>();
        while (await _finished.Reader.WaitToReadAsync())
        {
            batch.Clear();
            while (batch.Count < MaxFinishBatch && _finished.Reader.TryRead(out var next)) batch.Add(next);
            while (batch.Count > 0)
            {
                // One store call per queue: take the first job's queue out of the batch, then the rest.
                var queue = batch[0].Job.Job.Queue;
                sameQueue.Clear();
                sameQueue.AddRange(batch.Where(f => f.Job.Job.Queue == queue));
                batch.RemoveAll(f => f.Job.Job.Queue == queue);
                try
                {
                    await RecordFinishedAsync(queue, sameQueue);
                }
                catch (Exception e)
                {
                    LogFinishLoopFault(_logger, e, queue); // the loop must never die: every later finish would wait on it
                    foreach (var finished in sameQueue)
                    {
                        if (finished.Job.Lease is { } lease) await lease.DisposeAsync(); // so their leases can run out
                        finished.Settled?.Invoke();
                    }
                }
            }
        }
    }

    private async Task RecordFinishedAsync(string queue, List<Finished> finished)
    {
        IReadOnlyList<JobUpdateOutcome>? outcomes = null;
        if (!_isKilled())
        {
            try
            {
                var completions = new JobCompletion[finished.Count];
                for (var i = 0; i < completions.Length; i++)
                    completions[i] = new JobCompletion(finished[i].Job.Job.JobId, finished[i].Job.Job.LeaseToken, finished[i].Result);
                outcomes = await _plane.FinishManyAsync(queue, completions);
            }
            catch (Exception e) when (!_isKilled())
            {
                LogFinishBatchFailed(_logger, e, finished.Count, queue);
            }
            catch (Exception)
            {
                // Killed meanwhile: nothing more is written.
            }
        }

        for (var i = 0; i < finished.Count; i++)
        {
            var (pending, result, settled) = finished[i];
            if (outcomes is null && !_isKilled())
            {
                Track(SettleAsync(pending, new SettleAction(SettleKind.Finish, result)), settled); // it stops renewing the job's lease when done
                continue;
            }

            if (outcomes?[i] is JobUpdateOutcome.LeaseLost or JobUpdateOutcome.NotFound && !_isKilled())
                _logAbandoned(pending.Job.Queue, pending.Job.JobId, "its lease was lost before its outcome was recorded");
            if (pending.Lease is { } lease) await lease.DisposeAsync();
            settled?.Invoke();
        }
    }

    /// <summary>Records a job's outcome, retrying when there is no verdict; the lease is renewed until it is recorded.</summary>
    public async Task SettleAsync(PendingJob pending, SettleAction action)
    {
        var job = pending.Job;
        try
        {
            if (action.Kind == SettleKind.Abandon)
            {
                if (!_isKilled()) _logAbandoned(job.Queue, job.JobId, action.Text ?? "");
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
                        SettleKind.Finish => await _plane.FinishAsync(job.Queue, job.JobId, job.LeaseToken, action.Text),
                        SettleKind.Fail => await _plane.FailAsync(job.Queue, job.JobId, job.LeaseToken, action.Text ?? ""),
                        _ => await _plane.ReleaseAsync(job.Queue, job.JobId, job.LeaseToken),
                    };
                }
                catch (Exception e)
                {
                    error = e;
                }

                if (_isKilled()) return;
                switch (JobOutcomes.AfterSettle(outcome, error, attempt, SettleTries))
                {
                    case SettleVerdict.Recorded:
                        return;
                    case SettleVerdict.LeaseLost or SettleVerdict.NotFound:
                        _logAbandoned(job.Queue, job.JobId, "its lease was lost before its outcome was recorded");
                        return;
                    case SettleVerdict.Retry:
                        LogSettleRetry(_logger, error!, action.Kind, job.Queue, job.JobId, attempt);
                        await Task.Delay(TimeSpan.FromMilliseconds(100 * (1 << attempt)), _timeProvider, _killed);
                        break;
                    default:
                        LogSettleFailed(_logger, error, action.Kind, job.Queue, job.JobId, job.IsMonitored ? "its lease will return it" : "it is unmonitored: inspect it, it stays running");
                        return;
                }
            }
        }
        catch (OperationCanceledException) when (_isKilled())
        {
        }
        finally
        {
            if (pending.Lease is { } lease) await lease.DisposeAsync();
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not record {Count} finished jobs of queue {Queue} at once; recording them one by one")]
    private static partial void LogFinishBatchFailed(ILogger logger, Exception exception, int count, string queue);

    [LoggerMessage(Level = LogLevel.Critical, Message = "Recording finished jobs of queue {Queue} failed outside the store; the monitored ones come back when their leases run out")]
    private static partial void LogFinishLoopFault(ILogger logger, Exception exception, string queue);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not {Action} job {JobId} of queue {Queue} (try {Attempt}); retrying")]
    private static partial void LogSettleRetry(ILogger logger, Exception exception, SettleKind action, string queue, long jobId, int attempt);

    [LoggerMessage(Level = LogLevel.Error, Message = "Could not {Action} job {JobId} of queue {Queue}; giving up: {Consequence}")]
    private static partial void LogSettleFailed(ILogger logger, Exception? exception, SettleKind action, string queue, long jobId, string consequence);
}
