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
/// The worker grains of a silo: for every queue with a registered handler, claims batches of monitored jobs up to
/// the silo's free concurrency, runs them with lease heartbeats, and finishes or fails them. On graceful shutdown
/// it stops claiming, lets running jobs finish for <see cref="WorkerOptions.ShutdownTimeout"/>, then cancels and
/// releases the rest. When the silo is killed it does nothing more: the lease monitor and membership recover its jobs.
/// </summary>
public sealed partial class JobWorkerService(
    IEnumerable<JobHandlerRegistration> registrations,
    IGrainFactory grains,
    IServiceProvider services,
    TimeProvider timeProvider,
    SiloLifetime lifetime,
    IOptions<SiloOptions> siloOptions,
    IOptions<WorkerOptions> options,
    ILogger<JobWorkerService> logger) : SiloBackgroundService(lifetime)
{
    private readonly WorkerOptions _options = options.Value;
    private readonly string _siloId = siloOptions.Value.SiloId;
    private readonly string _node = siloOptions.Value.Node;
    private readonly SemaphoreSlim _slots = new(options.Value.MaxConcurrency, options.Value.MaxConcurrency);
    private readonly CancellationTokenSource _abortJobs = CancellationTokenSource.CreateLinkedTokenSource(lifetime.Killed);
    private readonly HashSet<Task> _running = [];
    private readonly IReadOnlyList<JobHandlerRegistration> _registrations = Validate(registrations);

    /// <summary>How many jobs this silo is running now.</summary>
    public int RunningJobs
    {
        get { lock (_running) return _running.Count; }
    }

    /// <inheritdoc />
    protected override Task RunAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(_registrations.Select(r => ClaimLoopAsync(r, stoppingToken)));

    /// <inheritdoc />
    protected override async Task OnStoppedAsync(CancellationToken cancellationToken)
    {
        Task[] running;
        lock (_running) running = [.. _running];
        if (running.Length == 0) return;

        LogDraining(running.Length, _options.ShutdownTimeout);
        var drained = Task.WhenAll(running);
        if (await Task.WhenAny(drained, Task.Delay(_options.ShutdownTimeout, timeProvider, cancellationToken)) != drained)
        {
            await _abortJobs.CancelAsync(); // handlers stop; their jobs are released below, in RunJobAsync
            await drained;
        }
    }

    private async Task ClaimLoopAsync(JobHandlerRegistration registration, CancellationToken stoppingToken)
    {
        var queueName = registration.Options.NodeLocal ? QueueName.Local(registration.Queue, _node).ToString() : registration.Queue;
        var queue = grains.GetGrain<IQueueGrain>(queueName);
        while (!stoppingToken.IsCancellationRequested)
        {
            await _slots.WaitAsync(stoppingToken);
            var free = 1;
            while (free < QueueLimits.MaxClaimBatch && _slots.Wait(0)) free++;

            IReadOnlyList<ClaimedJob> jobs;
            try
            {
                jobs = await queue.WaitAsync(_options.PollTimeout, new ClaimOptions
                {
                    MaxJobs = free,
                    Monitored = registration.Options.Monitored,
                    Owner = _siloId,
                    Node = _node,
                    LeaseDuration = _options.LeaseDuration,
                }, stoppingToken);
            }
            catch (Exception e)
            {
                _slots.Release(free);
                if (stoppingToken.IsCancellationRequested) return;
                LogClaimFailed(e, queueName);
                await Task.Delay(TimeSpan.FromSeconds(1), timeProvider, stoppingToken);
                continue;
            }

            if (free > jobs.Count) _slots.Release(free - jobs.Count);
            var incarnation = Lifetime.Incarnation;
            foreach (var job in jobs)
                Track(RunJobAsync(queue, registration, job, incarnation));
        }
    }

    private void Track(Task job)
    {
        lock (_running) _running.Add(job);
        job.ContinueWith(t => { lock (_running) _running.Remove(t); }, TaskScheduler.Default);
    }

    private async Task RunJobAsync(IQueueGrain queue, JobHandlerRegistration registration, ClaimedJob job, CancellationToken incarnation)
    {
        await Task.Yield(); // never run a handler on the claim loop
        try
        {
            await using var heartbeat = new LeaseHeartbeat(queue, job, timeProvider);
            using var jobCancellation = CancellationTokenSource.CreateLinkedTokenSource(_abortJobs.Token, heartbeat.LeaseLost, incarnation);
            string? result;
            try
            {
                await using var scope = services.CreateAsyncScope();
                var handler = registration.Create(scope.ServiceProvider);
                result = await handler.HandleAsync(new JobContext(job, _siloId), jobCancellation.Token);
            }
            catch (Exception) when (Lifetime.IsKilled || incarnation.IsCancellationRequested)
            {
                return; // the cluster counts this silo (or this incarnation of it) as gone: report nothing
            }
            catch (OperationCanceledException) when (heartbeat.IsLost)
            {
                LogLeaseLost(job.Queue, job.JobId);
                return;
            }
            catch (OperationCanceledException) when (_abortJobs.IsCancellationRequested)
            {
                await queue.ReleaseAsync(job.JobId, job.LeaseToken);
                LogReleased(job.Queue, job.JobId);
                return;
            }
            catch (Exception e)
            {
                var failed = await queue.FailAsync(job.JobId, job.LeaseToken, $"{e.GetType().Name}: {e.Message}");
                LogFailed(e, job.Queue, job.JobId, job.Attempt, failed.Outcome);
                return;
            }

            if (Lifetime.IsKilled || incarnation.IsCancellationRequested) return;
            if (await queue.FinishAsync(job.JobId, job.LeaseToken, result) == JobUpdateOutcome.LeaseLost)
                LogLeaseLost(job.Queue, job.JobId);
        }
        catch (Exception e) when (!Lifetime.IsKilled)
        {
            LogSettleFailed(e, job.Queue, job.JobId);
        }
        catch (Exception)
        {
        }
        finally
        {
            _slots.Release();
        }
    }

    private static List<JobHandlerRegistration> Validate(IEnumerable<JobHandlerRegistration> registrations)
    {
        var list = registrations.ToList();
        foreach (var duplicate in list.GroupBy(r => (r.Queue, r.Options.NodeLocal)).Where(g => g.Count() > 1))
            throw new InvalidOperationException($"Queue '{duplicate.Key.Queue}'{(duplicate.Key.NodeLocal ? " (node-local)" : "")} has {duplicate.Count()} job handlers registered; a queue has one handler per silo.");
        return list;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Stopping: waiting up to {Timeout} for {Count} running jobs")]
    private partial void LogDraining(int count, TimeSpan timeout);

    [LoggerMessage(Level = LogLevel.Error, Message = "Claiming from queue {Queue} failed; retrying")]
    private partial void LogClaimFailed(Exception exception, string queue);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId} of queue {Queue} lost its lease; its result was not recorded")]
    private partial void LogLeaseLost(string queue, long jobId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Job {JobId} of queue {Queue} was released for another silo")]
    private partial void LogReleased(string queue, long jobId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId} of queue {Queue} failed on attempt {Attempt}: {Outcome}")]
    private partial void LogFailed(Exception exception, string queue, long jobId, int attempt, FailOutcome outcome);

    [LoggerMessage(Level = LogLevel.Error, Message = "Could not record the outcome of job {JobId} of queue {Queue}; its lease will return it")]
    private partial void LogSettleFailed(Exception exception, string queue, long jobId);
}
