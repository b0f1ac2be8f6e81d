using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Orleans.Jobs.Client.Queues;
using Orleans.Jobs.Grains.Interfaces;
using Orleans.Jobs.Grains.Interfaces.Code;
using Orleans.Jobs.Grains.Interfaces.WorkStreams;
using Orleans.Jobs.Grains.Queues;
using Orleans.Jobs.Storage;
using Orleans.Runtime;

namespace Orleans.Jobs.Silo.WorkStreams;

/// <summary>What every worker of a node shares.</summary>
internal sealed class WorkStreamWorkerContext(QueueDataPlane plane, IEventLogStore logs, ForkExecutorFactory executors, ILocalSiloDetails silo, WorkStreamNodeOptions options, string node, TimeProvider timeProvider)
{
    public QueueDataPlane Plane => plane;

    /// <summary>Where the workers' records go: one appender per silo, so the records of its workers share appends.</summary>
    public ForkRecordAppender Records { get; } = new(logs, timeProvider);
    public ForkExecutorFactory Executors => executors;
    public WorkStreamNodeOptions Options => options;
    public TimeProvider Time => timeProvider;
    public string Node => node;

    /// <summary>Who owns the claims: this silo incarnation, so dead-silo recovery returns them when it dies.</summary>
    public string Owner { get; } = silo.SiloAddress.ToParsableString();
}

/// <summary>
/// One stream a node tracks: a spawner that starts a worker every 1/<see cref="WorkStreamProperties.SpawnFrequency"/>
/// seconds while the stream has forks waiting and fewer than <see cref="WorkStreamProperties.MaxWorkersPerNode"/>
/// workers run here, and the workers. A worker runs one fork at a time: it takes a fork, runs it, appends its record to
/// the callback stage's result log once (keyed by the fork), then finishes the job; it exits after the stream's idle
/// timeout without a fork. The workers waiting for a fork share one claim (<see cref="ClaimAsync"/>).
/// </summary>
internal sealed partial class TrackedWorkStream(string streamId, WorkStreamProperties properties, WorkStreamWorkerContext context, CancellationToken killed, ILogger logger)
{
    private readonly string _queue = WorkStreamRules.Queue(streamId);
    private readonly CancellationTokenSource _stop = new();
    private readonly CancellationTokenSource _abort = new();
    private readonly List<Task> _workers = [];
    private readonly SemaphoreSlim _claiming = new(1, 1);
    private readonly ConcurrentQueue<ClaimedJob> _claimedAhead = new();
    private Guid _claimId = UnguessableIds.Next(); // the next claim's id, kept after a failed claim; used under _claiming
    private bool _resumeClaim;
    private Task _spawner = Task.CompletedTask;
    private volatile WorkStreamProperties _properties = properties;
    private TaskCompletionSource _propertiesChanged = NewSignal();
    private int _running;
    private int _spawned;
    private int _waitingForForks;

    /// <summary>
    /// The stream's properties as the directory last listed them. A change wakes the spawner, so a raised cap or
    /// frequency applies at once rather than after the old frequency's wait (100 s at 0.01 per second).
    /// </summary>
    public WorkStreamProperties Properties
    {
        get => _properties;
        set
        {
            if (value == _properties) return;
            _properties = value;
            Interlocked.Exchange(ref _propertiesChanged, NewSignal()).TrySetResult();
        }
    }

    /// <summary>Workers running now.</summary>
    public int Workers => Volatile.Read(ref _running);

    public void Start(CancellationToken stoppingToken)
    {
        var stop = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken, _stop.Token);
        _spawner = Task.Run(() => SpawnAsync(stop.Token), CancellationToken.None);
    }

    /// <summary>Stops spawning; running forks get <paramref name="timeout"/> to finish, then are cancelled (their jobs come back).</summary>
    public async Task StopAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        await _stop.CancelAsync();
        await _spawner.WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        Task all;
        lock (_workers) all = Task.WhenAll(_workers);
        if (await Task.WhenAny(all, Task.Delay(timeout, context.Time, cancellationToken)) != all) await _abort.CancelAsync();
        await all.WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        await ReleaseClaimedAheadAsync();
    }

    private async Task SpawnAsync(CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            var changed = Volatile.Read(ref _propertiesChanged).Task;
            var p = Properties;
            if (Workers < p.MaxWorkersPerNode && await HasWaitingForksAsync(stop))
            {
                var number = Interlocked.Increment(ref _spawned);
                Interlocked.Increment(ref _running);
                lock (_workers)
                {
                    _workers.RemoveAll(t => t.IsCompleted);
                    _workers.Add(Task.Run(() => WorkAsync(number, stop), CancellationToken.None));
                }
            }

            await changed.WaitAsync(TimeSpan.FromSeconds(1 / p.SpawnFrequency), context.Time, stop).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private async Task<bool> HasWaitingForksAsync(CancellationToken stop)
    {
        try
        {
            return (await context.Plane.GetCountsAsync(_queue).WaitAsync(stop)).Available > 0;
        }
        catch (Exception e) when (!stop.IsCancellationRequested)
        {
            LogCountFailed(e, streamId);
            return false;
        }
    }

    private async Task WorkAsync(int number, CancellationToken stop)
    {
        IForkExecutor? executor = null;
        try
        {
            executor = await context.Executors.CreateAsync(Properties.Isolation, stop);
            LogCreatedWorker(number, executor.ProcessId?.ToString() ?? "in-silo", streamId);
            var idleSince = context.Time.GetUtcNow();
            while (!stop.IsCancellationRequested)
            {
                var p = Properties;
                var claimed = await ClaimAsync(p, stop);
                if (claimed is null)
                {
                    if (context.Time.GetUtcNow() - idleSince >= p.IdleTimeout) break;
                    continue;
                }

                executor = await RunAsync(number, executor, claimed, p);
                idleSince = context.Time.GetUtcNow();
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested || _abort.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            LogWorkerFault(e, number, streamId);
        }
        finally
        {
            if (executor is not null) await executor.DisposeAsync();
            Interlocked.Decrement(ref _running);
            LogWorkerExited(number, streamId);
        }
    }

    /// <summary>
    /// The next fork for a worker; null when none came within the claim's wait. The workers waiting for a fork take
    /// turns: the first claims one for each of them at once and the others take theirs from what it claimed, so busy
    /// workers share a claim's round trip (one fork per claim made every fork a write transaction of its own).
    /// </summary>
    private async Task<ClaimedJob?> ClaimAsync(WorkStreamProperties p, CancellationToken stop)
    {
        Interlocked.Increment(ref _waitingForForks);
        try
        {
            await _claiming.WaitAsync(stop);
            try
            {
                if (_claimedAhead.TryDequeue(out var ahead)) return ahead;
                var wait = p.IdleTimeout < context.Options.ClaimWait ? p.IdleTimeout : context.Options.ClaimWait;
                IReadOnlyList<ClaimedJob> jobs;
                try
                {
                    jobs = await context.Plane.WaitAsync(_queue, wait, new ClaimOptions
                    {
                        MaxJobs = Math.Clamp(Volatile.Read(ref _waitingForForks), 1, QueueLimits.MaxClaimBatch),
                        Monitored = true,
                        Owner = context.Owner,
                        Node = context.Node,
                        LeaseDuration = context.Options.LeaseDuration,
                        ClaimId = _claimId,
                        Resume = _resumeClaim,
                    }, stop);
                }
                catch
                {
                    _resumeClaim = true; // it may have taken forks after all: the next claim resumes it under the same id
                    throw;
                }

                (_claimId, _resumeClaim) = (UnguessableIds.Next(), false);
                foreach (var job in jobs.Skip(1)) _claimedAhead.Enqueue(job);
                return jobs.Count > 0 ? jobs[0] : null;
            }
            finally
            {
                _claiming.Release();
            }
        }
        catch (Exception e) when (!stop.IsCancellationRequested)
        {
            LogClaimFailed(e, streamId);
            await Task.Delay(TimeSpan.FromSeconds(1), context.Time, stop);
            return null;
        }
        finally
        {
            Interlocked.Decrement(ref _waitingForForks);
        }
    }

    /// <summary>Gives back the forks claimed for workers that stopped before taking them (on a kill, dead-silo recovery does).</summary>
    private async Task ReleaseClaimedAheadAsync()
    {
        while (!killed.IsCancellationRequested && _claimedAhead.TryDequeue(out var job))
        {
            try
            {
                await context.Plane.ReleaseAsync(job.Queue, job.JobId, job.LeaseToken);
            }
            catch (Exception e)
            {
                LogReleaseFailed(e, job.JobId, streamId); // its lease runs out and it runs elsewhere
            }
        }
    }

    /// <summary>Runs one fork and records it; returns the executor for the next (a new one when the child process died).</summary>
    private async Task<IForkExecutor> RunAsync(int number, IForkExecutor executor, ClaimedJob claimed, WorkStreamProperties p)
    {
        await using var heartbeat = new LeaseHeartbeat(lease => context.Plane.RenewLeaseAsync(claimed.Queue, claimed.JobId, claimed.LeaseToken, lease), claimed, context.Time);
        ForkJob job;
        try
        {
            job = WorkStreamJson.ReadJob(claimed.Payload);
        }
        catch (ArgumentException e)
        {
            // Not a fork (sent to the stream's queue by hand): it can have no record; dead-letter it with the reason.
            await context.Plane.FailAsync(claimed.Queue, claimed.JobId, claimed.LeaseToken, e.Message);
            return executor;
        }

        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(_abort.Token, heartbeat.LeaseLost, killed);
        var started = context.Time.GetUtcNow();
        var worker = $"{context.Owner}/{number}{(executor.ProcessId is { } pid ? $"/pid {pid}" : "")}";
        ForkRecord? record = null;
        string? retryReason = null;
        LogProcessing(number, job.Id, job.Name, streamId);
        try
        {
            var result = await executor.RunAsync(new PostedFunctionCall(job.Code, job.Function, job.Args), claimed.JobId, claimed.Attempt, cancel.Token);
            record = Record(ForkStatus.Ready, result ?? "null", null);
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
            // Lease lost, silo killed or stopping: the job comes back (released, or by its lease) and runs again.
            if (!heartbeat.IsLost && !killed.IsCancellationRequested)
                await context.Plane.ReleaseAsync(claimed.Queue, claimed.JobId, claimed.LeaseToken);
            return executor;
        }
        catch (PostedCodeException e)
        {
            record = Record(ForkStatus.Error, null, ForkError.From(e, job.Name));
        }
        catch (Exception e)
        {
            // The worker itself failed (its child process died): run the fork again while runs are left.
            if (claimed.Attempt < claimed.MaxAttempts) retryReason = $"{e.GetType().Name}: {e.Message}";
            else record = Record(ForkStatus.Error, null, new ForkError($"the worker died on the last of {claimed.MaxAttempts} runs: {e.Message}", job.Name, ExceptionType: e.GetType().Name));
            await executor.DisposeAsync();
            executor = await context.Executors.CreateAsync(p.Isolation, CancellationToken.None);
            LogCreatedWorker(number, executor.ProcessId?.ToString() ?? "in-silo", streamId);
        }

        if (killed.IsCancellationRequested || heartbeat.IsLost) return executor;
        if (retryReason is not null)
        {
            await context.Plane.FailAsync(claimed.Queue, claimed.JobId, claimed.LeaseToken, retryReason);
            return executor;
        }

        // The record first, keyed by the fork: if this silo dies before the finish below, the fork runs again and its
        // second record is not added.
        try
        {
            await context.Records.AppendAsync(WorkStreamRules.ResultLog(streamId, job.Callback), new KeyedLogEntry(job.Id, WorkStreamJson.Write(record!)));
            await context.Plane.FinishAsync(claimed.Queue, claimed.JobId, claimed.LeaseToken, null);
            LogCompleted(number, job.Id, job.Name, record!.Status);
        }
        catch (Exception e)
        {
            // The store did not take it: the lease runs out, the fork runs again, and its record is added once.
            LogRecordFailed(e, job.Id, streamId);
        }

        return executor;

        ForkRecord Record(ForkStatus status, string? result, ForkError? error) => new()
        {
            Job = job,
            Status = status,
            Result = result,
            Error = error,
            Started = started,
            Finished = context.Time.GetUtcNow(),
            Attempt = claimed.Attempt,
            Worker = worker,
        };
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "created worker {Number} {Process} {StreamId}")]
    private partial void LogCreatedWorker(int number, string process, string streamId);

    [LoggerMessage(Level = LogLevel.Debug, Message = "worker {Number} of {StreamId} exited")]
    private partial void LogWorkerExited(int number, string streamId);

    [LoggerMessage(Level = LogLevel.Debug, Message = "processing job: worker {Number}, {ForkId}, {Name}, {StreamId}")]
    private partial void LogProcessing(int number, string forkId, string name, string streamId);

    [LoggerMessage(Level = LogLevel.Debug, Message = "completed job: worker {Number}, {ForkId}, {Name}, {Status}")]
    private partial void LogCompleted(int number, string forkId, string name, ForkStatus status);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not record fork {ForkId} of stream {StreamId}; it runs again when its lease runs out")]
    private partial void LogRecordFailed(Exception exception, string forkId, string streamId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not count the forks waiting in stream {StreamId}")]
    private partial void LogCountFailed(Exception exception, string streamId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not give back job {JobId} of stream {StreamId}, claimed for a worker that stopped; it runs again when its lease runs out")]
    private partial void LogReleaseFailed(Exception exception, long jobId, string streamId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Claiming from stream {StreamId} failed; retrying")]
    private partial void LogClaimFailed(Exception exception, string streamId);

    [LoggerMessage(Level = LogLevel.Error, Message = "Worker {Number} of stream {StreamId} failed outside a fork; it stops")]
    private partial void LogWorkerFault(Exception exception, int number, string streamId);
}
