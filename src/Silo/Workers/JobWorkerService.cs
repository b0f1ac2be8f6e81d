using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Jobs.Grains.Interfaces;
using Orleans.Jobs.Grains.Queues;
using Orleans.Jobs.Silo.Hosting;
using Orleans.Runtime;

namespace Orleans.Jobs.Silo.Workers;

/// <summary>
/// The workers of a silo. One claim loop per registered queue claims straight from the job store (through this silo's
/// <see cref="QueueDataPlane"/>, no grain call per job) as many jobs as <see cref="WorkerCapacity"/> has room for, and
/// hands them to <see cref="WorkerOptions.MaxConcurrency"/> runners over a local channel. A runner is free again as
/// soon as its handler returns: the outcome (decided by <see cref="JobOutcomes"/>) is recorded in the background with
/// retries, so a slow write never idles a worker.
/// <para>
/// Claims are owned by this silo incarnation (its Orleans silo address, generation included): when Orleans declares
/// the silo dead, <see cref="DeadSiloJobRecovery"/> on the others returns its monitored jobs at once. Graceful stop:
/// claiming stops, jobs claimed but not started are released, running jobs get <see cref="WorkerOptions.ShutdownTimeout"/>
/// to finish and are then cancelled and released. Kill: nothing more is written.
/// </para>
/// </summary>
public sealed partial class JobWorkerService : SiloBackgroundLoop
{
    private readonly QueueDataPlane _plane;
    private readonly IServiceProvider _services;
    private readonly TimeProvider _timeProvider;
    private readonly WorkerOptions _options;
    private readonly ILocalSiloDetails _silo;
    private readonly string _node;
    private readonly IReadOnlyList<JobHandlerRegistration> _registrations;
    private readonly ILogger<JobWorkerService> _logger;
    private readonly Channel<PendingJob> _claimed = Channel.CreateUnbounded<PendingJob>();
    private readonly WorkerCapacity _capacity;
    private readonly CancellationTokenSource _abortJobs = new();
    private readonly JobSettler _settler;
    private readonly LeaseRenewals _leases;
    private Task _runners = Task.CompletedTask;
    private readonly CancellationTokenSource _stopTaking = new();
    private readonly PendingJob?[] _runnerJobs; // what each runner runs now, for stopping all jobs and the heartbeat's current job
    private volatile bool _draining;
    private string? _owner;
    private long _jobsDone;

    /// <summary>Creates the workers of a silo; they start with the silo.</summary>
    public JobWorkerService(
        IEnumerable<JobHandlerRegistration> registrations,
        QueueDataPlane plane,
        IServiceProvider services,
        TimeProvider timeProvider,
        ILocalSiloDetails silo,
        IOptions<JobsSiloOptions> siloOptions,
        IOptions<WorkerOptions> options,
        ILogger<JobWorkerService> logger) : base(logger)
    {
        _plane = plane;
        _services = services;
        _timeProvider = timeProvider;
        _options = options.Value;
        _silo = silo;
        _node = siloOptions.Value.Node;
        _logger = logger;
        _registrations = Validate(registrations);
        _capacity = new WorkerCapacity(_options.MaxConcurrency, _options.Prefetch, _options.MaxLookAhead, timeProvider);
        _settler = new JobSettler(plane, timeProvider, () => IsKilled, Killed, this.LogAbandoned, logger);
        _leases = new LeaseRenewals(plane.RenewLeasesAsync, timeProvider, logger);
        _runnerJobs = new PendingJob?[_options.MaxConcurrency];
    }

    /// <summary>Who owns this silo's claims: its silo address with its generation, unique to this incarnation.</summary>
    public string Owner => _owner ??= _silo.SiloAddress.ToParsableString(); // read per claim and per job: built once

    /// <summary>The node this silo runs on (its node-local queues are <c>queue@node</c>).</summary>
    public string Node => _node;

    /// <summary>How many handlers are running now.</summary>
    public int RunningJobs => _capacity.Running;

    /// <summary>True when this silo registered job handlers (pipeline workers included): it is a worker in the heartbeat list.</summary>
    public bool HasHandlers => _registrations.Count > 0;

    /// <summary>Jobs whose handler returned or threw since the silo started.</summary>
    public long JobsDone => Interlocked.Read(ref _jobsDone);

    /// <summary>A job running now, as "queue/job id", or null.</summary>
    public string? CurrentJob => _runnerJobs.FirstOrDefault(p => p is not null) is { } pending ? $"{pending.Job.Queue}/{pending.Job.JobId}" : null;

    /// <summary>True once <see cref="StopTakingJobs"/> was called: running jobs finish, no more are claimed.</summary>
    public bool StoppedTakingJobs => _stopTaking.IsCancellationRequested;

    /// <summary>
    /// JobMon's stop signal: claim no more jobs, give back those claimed but not started, and let running ones finish.
    /// The silo keeps serving grains; its workers start again with the silo.
    /// </summary>
    public void StopTakingJobs()
    {
        _draining = true;
        _stopTaking.Cancel();
    }

    /// <summary>The most handlers that ran at once on this silo since it started.</summary>
    public int PeakRunningJobs { get; private set; }

    /// <inheritdoc />
    protected override int Stage => ServiceLifecycleStage.Active;

    /// <inheritdoc />
    protected override Task RunAsync(CancellationToken stoppingToken)
    {
        if (_registrations.Count == 0) return Task.CompletedTask;
        Killed.Register(() => { _claimed.Writer.TryComplete(); _abortJobs.Cancel(); _ = _leases.DisposeAsync().AsTask(); }); // a killed silo writes nothing more
        _abortJobs.Token.Register(CancelRunningJobs);
        _runners = Task.WhenAll(Enumerable.Range(0, _options.MaxConcurrency).Select(runner => Task.Run(() => RunnerAsync(runner))));
        var claiming = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken, _stopTaking.Token).Token;
        return Task.WhenAll(_registrations.Select(async r =>
        {
            try
            {
                await ClaimLoopAsync(r, claiming);
            }
            catch (OperationCanceledException) when (claiming.IsCancellationRequested)
            {
                // Stopping, or told to stop taking jobs.
            }
        }));
    }

    /// <inheritdoc />
    protected override async Task OnStoppingAsync(CancellationToken cancellationToken)
    {
        _draining = true;                 // runners release what they take from now on instead of running it
        _claimed.Writer.TryComplete();
        var running = RunningJobs;
        if (running > 0) LogDraining(running, _options.ShutdownTimeout);
        if (await Task.WhenAny(_runners, Task.Delay(_options.ShutdownTimeout, _timeProvider, cancellationToken)) != _runners)
        {
            await _abortJobs.CancelAsync(); // handlers stop; their jobs are released
            await _runners.WaitAsync(cancellationToken); // a handler that ignores cancellation cannot hold the silo past the lifecycle's own timeout
        }

        await _settler.DrainAsync(cancellationToken);
        await _leases.DisposeAsync();
    }

    private async Task ClaimLoopAsync(JobHandlerRegistration registration, CancellationToken stoppingToken)
    {
        var queue = registration.Options.NodeLocal ? QueueName.Local(registration.Queue, _node).ToString() : registration.Queue;
        // A claim that failed may have committed with its reply lost: the next one resumes it under the same id, so
        // the jobs it took come back now rather than when their leases run out.
        var claimId = UnguessableIds.Next();
        var resume = false;
        while (!stoppingToken.IsCancellationRequested)
        {
            var room = await _capacity.WaitForRoomAsync(stoppingToken);
            // Every queue's loop sees the same free room: claiming all of it from each would over-claim and give the
            // surplus back (a wasted claim and release per job when a silo serves several busy queues, as pipeline
            // workers do). A loop claims at most its share; it claims again at once while room is left.
            var share = Math.Max(1, room.Total / _registrations.Count);
            IReadOnlyList<ClaimedJob> jobs;
            try
            {
                jobs = await _plane.WaitAsync(queue, _options.PollTimeout, new ClaimOptions
                {
                    MaxJobs = Math.Min(Math.Min(room.Free, share), QueueLimits.MaxClaimBatch),
                    Monitored = registration.Options.Monitored,
                    Owner = Owner,
                    Node = _node,
                    LeaseDuration = _options.LeaseDuration,
                    ClaimId = claimId,
                    Resume = resume,
                }, stoppingToken);
                (claimId, resume) = (UnguessableIds.Next(), false);
            }
            catch (Exception e)
            {
                if (stoppingToken.IsCancellationRequested) return;
                LogClaimFailed(e, queue);
                resume = true;
                await Task.Delay(TimeSpan.FromSeconds(1), _timeProvider, stoppingToken);
                continue;
            }

            // Other queues' loops claimed at the same time: keep what fits, give the rest back uncounted at once.
            if (jobs.Count > 0) _capacity.ObserveLease(jobs[0].LeaseDuration);
            var kept = _capacity.Reserve(jobs.Count, room.Total);
            foreach (var job in jobs.Take(kept))
            {
                var cancellation = new CancellationTokenSource();
                var pending = new PendingJob(registration, job, _leases.Hold(job, cancellation), cancellation);
                if (!_claimed.Writer.TryWrite(pending)) _settler.Start(pending, new SettleAction(SettleKind.Release));
            }

            foreach (var job in jobs.Skip(kept))
                _settler.Start(new PendingJob(registration, job, null, new CancellationTokenSource()), new SettleAction(SettleKind.Release));
        }
    }

    private async Task RunnerAsync(int runner)
    {
        await foreach (var pending in _claimed.Reader.ReadAllAsync())
        {
            _capacity.Start(runner);
            PeakRunningJobs = Math.Max(PeakRunningJobs, _capacity.Running);
            try
            {
                Interlocked.Exchange(ref _runnerJobs[runner], pending); // a full fence: a stop of all jobs sees this job, or this sees the stop
                if (_abortJobs.IsCancellationRequested) pending.Cancellation.Cancel();
                await RunJobAsync(pending);
            }
            catch (Exception e)
            {
                LogRunnerFault(e, pending.Job.Queue, pending.Job.JobId); // a runner must never die: the silo would lose a worker for good
            }
            finally
            {
                Volatile.Write(ref _runnerJobs[runner], null);
                _capacity.Finish(runner);
            }
        }
    }

    /// <summary>Runs one job's handler, then records its outcome in the background.</summary>
    private async Task RunJobAsync(PendingJob pending)
    {
        var (registration, job, lease, cancellation) = pending;
        if (IsKilled || _draining || lease?.IsLost == true)
        {
            // Not started: give it back (draining), or leave it (killed, or it waited so long its lease was lost).
            var before = JobOutcomes.AfterHandler(null, null, IsKilled, lease?.IsLost == true, shuttingDown: true);
            await _settler.SettleAsync(pending, before.Kind == SettleKind.Finish ? new SettleAction(SettleKind.Release) : before);
            return;
        }

        var jobCancellation = cancellation.Token; // one source per job: its lost lease and a stop of all jobs cancel it
        Exception? error = null;
        string? result = null;
        try
        {
            if (registration.Shared is { } shared)
            {
                result = await shared.HandleAsync(new JobContext(job, Owner), jobCancellation); // needs no services: no scope
            }
            else
            {
                await using var scope = _services.CreateAsyncScope();
                var handler = registration.Create(scope.ServiceProvider);
                result = await handler.HandleAsync(new JobContext(job, Owner), jobCancellation);
            }
        }
        catch (Exception e)
        {
            error = e;
        }

        Interlocked.Increment(ref _jobsDone);
        var action = JobOutcomes.AfterHandler(error, result, IsKilled, lease?.IsLost == true, _abortJobs.IsCancellationRequested);
        if (action.Kind == SettleKind.Fail) LogFailed(error!, job.Queue, job.JobId, job.Attempt);
        _capacity.StartSettling(); // the job keeps its slot until its outcome is written: claims wait for a slow store
        _settler.Start(pending, action, _capacity.Settled);
    }

    /// <summary>Cancels the handlers running now (a job that starts later sees the stop itself, in its runner).</summary>
    private void CancelRunningJobs()
    {
        foreach (var pending in _runnerJobs)
            pending?.Cancellation.Cancel();
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

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId} of queue {Queue} was left unrecorded: {Reason}")]
    internal partial void LogAbandoned(string queue, long jobId, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId} of queue {Queue} failed on attempt {Attempt}")]
    private partial void LogFailed(Exception exception, string queue, long jobId, int attempt);



    [LoggerMessage(Level = LogLevel.Critical, Message = "A worker failed outside its job handler on job {JobId} of queue {Queue}; it carries on")]
    private partial void LogRunnerFault(Exception exception, string queue, long jobId);
}
