using System.Threading.Channels;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Jobs.Client.Queues;
using Orleans.Jobs.Grains.Interfaces;
using Orleans.Jobs.Runtime;
using Orleans.Jobs.Runtime.Hosting;
using Orleans.Jobs.Runtime.Jobs;

namespace Orleans.Jobs.Silo.Workers;

/// <summary>
/// The worker grains of a silo. <see cref="WorkerOptions.MaxConcurrency"/> runners take claimed jobs from a local
/// channel and run their handlers; one claim loop per registered queue keeps the channel filled with as many
/// jobs as there are free runners, in one claim per round trip. A runner is free again as soon as its handler
/// returns: the job is finished or failed in the background (with retries), so a slow write never idles a worker.
/// Claim loops reserve nothing while they wait, so an idle queue never holds capacity another queue could use.
/// <para>
/// Graceful stop: claiming stops, jobs claimed but not started are released, running jobs get
/// <see cref="WorkerOptions.ShutdownTimeout"/> to finish and are then cancelled and released. Kill: nothing more
/// happens; the lease monitor and membership recover the jobs.
/// </para>
/// </summary>
public sealed partial class JobWorkerService : SiloBackgroundService
{
    private const int SettleAttempts = 6;

    private readonly IGrainFactory _grains;
    private readonly IServiceProvider _services;
    private readonly TimeProvider _timeProvider;
    private readonly WorkerOptions _options;
    private readonly string _siloId;
    private readonly string _node;
    private readonly IReadOnlyList<JobHandlerRegistration> _registrations;
    private readonly ILogger<JobWorkerService> _logger;
    private readonly Channel<PendingJob> _claimed = Channel.CreateUnbounded<PendingJob>();
    private readonly AsyncPulse _capacityFreed = new();
    private readonly CancellationTokenSource _abortJobs;
    private readonly HashSet<Task> _settling = [];
    private Task _runners = Task.CompletedTask;
    private int _running;
    private int _waiting;
    private volatile bool _draining;

    /// <summary>Creates the workers of a silo.</summary>
    public JobWorkerService(
        IEnumerable<JobHandlerRegistration> registrations,
        IGrainFactory grains,
        IServiceProvider services,
        TimeProvider timeProvider,
        SiloLifetime lifetime,
        IOptions<SiloOptions> siloOptions,
        IOptions<WorkerOptions> options,
        ILogger<JobWorkerService> logger) : base(lifetime)
    {
        _grains = grains;
        _services = services;
        _timeProvider = timeProvider;
        _options = options.Value;
        _siloId = siloOptions.Value.SiloId;
        _node = siloOptions.Value.Node;
        _logger = logger;
        _registrations = Validate(registrations);
        _abortJobs = CancellationTokenSource.CreateLinkedTokenSource(lifetime.Killed);
        lifetime.Killed.Register(() => _claimed.Writer.TryComplete());
    }

    /// <summary>How many handlers are running now.</summary>
    public int RunningJobs => Volatile.Read(ref _running);

    /// <inheritdoc />
    protected override Task RunAsync(CancellationToken stoppingToken)
    {
        if (_registrations.Count == 0) return Task.CompletedTask;
        _runners = Task.WhenAll(Enumerable.Range(0, _options.MaxConcurrency).Select(_ => Task.Run(RunnerAsync)));
        return Task.WhenAll(_registrations.Select(r => ClaimLoopAsync(r, stoppingToken)));
    }

    /// <inheritdoc />
    protected override async Task OnStoppedAsync(CancellationToken cancellationToken)
    {
        _draining = true;                 // runners release what they take from now on instead of running it
        _claimed.Writer.TryComplete();
        var running = RunningJobs;
        if (running > 0) LogDraining(running, _options.ShutdownTimeout);
        if (await Task.WhenAny(_runners, Task.Delay(_options.ShutdownTimeout, _timeProvider, cancellationToken)) != _runners)
        {
            await _abortJobs.CancelAsync(); // handlers stop; their jobs are released in RunJobAsync
            await _runners.WaitAsync(cancellationToken); // a handler that ignores cancellation cannot hold the host past its own timeout
        }

        Task[] settling;
        lock (_settling) settling = [.. _settling];
        await Task.WhenAll(settling).WaitAsync(cancellationToken);
    }

    private async Task ClaimLoopAsync(JobHandlerRegistration registration, CancellationToken stoppingToken)
    {
        var queueName = registration.Options.NodeLocal ? QueueName.Local(registration.Queue, _node).ToString() : registration.Queue;
        var queue = _grains.GetGrain<IQueueGrain>(queueName);
        while (!stoppingToken.IsCancellationRequested)
        {
            var free = await WaitForFreeRunnersAsync(stoppingToken);
            var incarnation = Lifetime.Incarnation; // before the claim: jobs claimed in it belong to it
            IReadOnlyList<ClaimedJob> jobs;
            try
            {
                jobs = await queue.WaitAsync(_options.PollTimeout, new ClaimOptions
                {
                    MaxJobs = Math.Min(free, QueueLimits.MaxClaimBatch),
                    Monitored = registration.Options.Monitored,
                    Owner = _siloId,
                    Node = _node,
                    LeaseDuration = _options.LeaseDuration,
                }, stoppingToken);
            }
            catch (Exception e)
            {
                if (stoppingToken.IsCancellationRequested) return;
                LogClaimFailed(e, queueName);
                await Task.Delay(TimeSpan.FromSeconds(1), _timeProvider, stoppingToken);
                continue;
            }

            // Other queues' loops claimed at the same time: keep what fits, give the rest back uncounted at once.
            var kept = Reserve(jobs.Count);
            foreach (var job in jobs.Take(kept))
            {
                var pending = new PendingJob(queue, registration, job, new LeaseHeartbeat(queue, job, _timeProvider), incarnation);
                if (!_claimed.Writer.TryWrite(pending)) Track(SettleAsync(pending, q => q.ReleaseAsync(job.JobId, job.LeaseToken), "release"));
            }

            foreach (var job in jobs.Skip(kept))
                Track(ReleaseUnheldAsync(queue, job));
        }
    }

    /// <summary>Takes room for up to <paramref name="count"/> claimed jobs; returns how many fit.</summary>
    private int Reserve(int count)
    {
        var capacity = _options.MaxConcurrency + _options.Prefetch;
        while (true)
        {
            var waiting = Volatile.Read(ref _waiting);
            var take = Math.Clamp(capacity - Volatile.Read(ref _running) - waiting, 0, count);
            if (take == 0 || Interlocked.CompareExchange(ref _waiting, waiting + take, waiting) == waiting) return take;
        }
    }

    private async Task ReleaseUnheldAsync(IQueueGrain queue, ClaimedJob job)
    {
        try
        {
            await queue.ReleaseAsync(job.JobId, job.LeaseToken);
        }
        catch (Exception e) when (!Lifetime.IsKilled)
        {
            LogSettleFailed(e, "release", job.Queue, job.JobId, job.IsMonitored ? "its lease will return it" : "it is unmonitored: inspect it, it stays running");
        }
    }

    /// <summary>
    /// Waits until there is room for more claimed jobs: free runners plus <see cref="WorkerOptions.Prefetch"/>, less
    /// what is running or waiting. With prefetch it waits for room for a quarter of the prefetch, so claims stay large.
    /// </summary>
    private async Task<int> WaitForFreeRunnersAsync(CancellationToken stoppingToken)
    {
        var capacity = _options.MaxConcurrency + _options.Prefetch;
        var worthClaiming = Math.Max(1, _options.Prefetch / 4);
        while (true)
        {
            var changed = _capacityFreed.Next;
            var room = capacity - Volatile.Read(ref _running) - Volatile.Read(ref _waiting);
            if (room >= worthClaiming || (room > 0 && Volatile.Read(ref _waiting) == 0)) return room;
            await changed.WaitAsync(stoppingToken);
        }
    }

    private async Task RunnerAsync()
    {
        await foreach (var pending in _claimed.Reader.ReadAllAsync())
        {
            Interlocked.Decrement(ref _waiting);
            Interlocked.Increment(ref _running);
            try
            {
                await RunJobAsync(pending);
            }
            catch (Exception e)
            {
                LogRunnerFault(e, pending.Job.Queue, pending.Job.JobId); // a runner must never die: the silo would lose a worker for good
            }
            finally
            {
                Interlocked.Decrement(ref _running);
                _capacityFreed.Pulse();
            }
        }
    }

    /// <summary>Runs one job's handler, then settles it in the background.</summary>
    private async Task RunJobAsync(PendingJob pending)
    {
        var (queue, registration, job, heartbeat, incarnation) = pending;
        if (Lifetime.IsKilled)
        {
            await heartbeat.DisposeAsync();
            return;
        }
        if (_draining)
        {
            await SettleAsync(pending, q => q.ReleaseAsync(job.JobId, job.LeaseToken), "release"); // inline: at most one per runner at a time
            return;
        }

        if (job.IsMonitored && (heartbeat.IsLost || incarnation.IsCancellationRequested))
        {
            await heartbeat.DisposeAsync(); // it waited here too long: the job was given to someone else
            LogLeaseLost(job.Queue, job.JobId);
            return;
        }

        // A monitored job is given to others when this silo's incarnation ends; an unmonitored one is not, so it runs on.
        using var jobCancellation = job.IsMonitored
            ? CancellationTokenSource.CreateLinkedTokenSource(_abortJobs.Token, heartbeat.LeaseLost, incarnation)
            : CancellationTokenSource.CreateLinkedTokenSource(_abortJobs.Token);
        Func<IQueueGrain, Task<object>> settle;
        string action;
        try
        {
            await using var scope = _services.CreateAsyncScope();
            var handler = registration.Create(scope.ServiceProvider);
            var result = await handler.HandleAsync(new JobContext(job, _siloId), jobCancellation.Token);
            (settle, action) = (async q => await q.FinishAsync(job.JobId, job.LeaseToken, result), "finish");
        }
        catch (Exception) when (Lifetime.IsKilled || (job.IsMonitored && incarnation.IsCancellationRequested))
        {
            await heartbeat.DisposeAsync();
            return; // the cluster counts this silo (or this incarnation of it) as gone: report nothing
        }
        catch (OperationCanceledException) when (heartbeat.IsLost)
        {
            await heartbeat.DisposeAsync();
            LogLeaseLost(job.Queue, job.JobId);
            return;
        }
        catch (OperationCanceledException) when (_abortJobs.IsCancellationRequested)
        {
            (settle, action) = (async q => await q.ReleaseAsync(job.JobId, job.LeaseToken), "release");
        }
        catch (Exception e)
        {
            var error = $"{e.GetType().Name}: {e.Message}";
            (settle, action) = (async q => await q.FailAsync(job.JobId, job.LeaseToken, error), "fail");
            LogFailed(e, job.Queue, job.JobId, job.Attempt);
        }

        Track(SettleAsync(pending, settle, action));
    }

    /// <summary>Records a job's outcome, retrying transient failures; the lease keeps being renewed until it is recorded.</summary>
    private async Task SettleAsync<T>(PendingJob pending, Func<IQueueGrain, Task<T>> settle, string action)
    {
        var job = pending.Job;
        try
        {
            for (var attempt = 1; ; attempt++)
            {
                try
                {
                    var outcome = await settle(pending.Queue);
                    if (outcome is JobUpdateOutcome.LeaseLost or FailResult { Outcome: FailOutcome.LeaseLost })
                        LogLeaseLost(job.Queue, job.JobId);
                    return;
                }
                catch (Exception e) when (attempt < SettleAttempts && !Lifetime.IsKilled)
                {
                    LogSettleRetry(e, action, job.Queue, job.JobId, attempt);
                    await Task.Delay(TimeSpan.FromMilliseconds(100 * (1 << attempt)), _timeProvider);
                }
            }
        }
        catch (Exception e) when (!Lifetime.IsKilled)
        {
            LogSettleFailed(e, action, job.Queue, job.JobId, job.IsMonitored ? "its lease will return it" : "it is unmonitored: inspect it, it stays running");
        }
        catch (Exception)
        {
        }
        finally
        {
            await pending.Heartbeat.DisposeAsync();
        }
    }

    private void Track(Task settling)
    {
        lock (_settling) _settling.Add(settling);
        settling.ContinueWith(t => { lock (_settling) _settling.Remove(t); }, TaskScheduler.Default);
    }

    private static List<JobHandlerRegistration> Validate(IEnumerable<JobHandlerRegistration> registrations)
    {
        var list = registrations.ToList();
        foreach (var duplicate in list.GroupBy(r => (r.Queue, r.Options.NodeLocal)).Where(g => g.Count() > 1))
            throw new InvalidOperationException($"Queue '{duplicate.Key.Queue}'{(duplicate.Key.NodeLocal ? " (node-local)" : "")} has {duplicate.Count()} job handlers registered; a queue has one handler per silo.");
        return list;
    }

    private sealed record PendingJob(IQueueGrain Queue, JobHandlerRegistration Registration, ClaimedJob Job, LeaseHeartbeat Heartbeat, CancellationToken Incarnation);

    [LoggerMessage(Level = LogLevel.Information, Message = "Stopping: waiting up to {Timeout} for {Count} running jobs")]
    private partial void LogDraining(int count, TimeSpan timeout);

    [LoggerMessage(Level = LogLevel.Error, Message = "Claiming from queue {Queue} failed; retrying")]
    private partial void LogClaimFailed(Exception exception, string queue);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId} of queue {Queue} lost its lease; its outcome was not recorded")]
    private partial void LogLeaseLost(string queue, long jobId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId} of queue {Queue} failed on attempt {Attempt}")]
    private partial void LogFailed(Exception exception, string queue, long jobId, int attempt);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not {Action} job {JobId} of queue {Queue} (try {Attempt}); retrying")]
    private partial void LogSettleRetry(Exception exception, string action, string queue, long jobId, int attempt);

    [LoggerMessage(Level = LogLevel.Critical, Message = "A worker failed outside its job handler on job {JobId} of queue {Queue}; it carries on")]
    private partial void LogRunnerFault(Exception exception, string queue, long jobId);

    [LoggerMessage(Level = LogLevel.Error, Message = "Gave up trying to {Action} job {JobId} of queue {Queue}; {Consequence}")]
    private partial void LogSettleFailed(Exception exception, string action, string queue, long jobId, string consequence);
}
