using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Jobs.Grains.Interfaces;
using Orleans.Jobs.Grains.Interfaces.Pipelines;
using Orleans.Jobs.Grains.Queues;
using Orleans.Runtime;

namespace Orleans.Jobs.Grains.Pipelines;

/// <summary>
/// One pipeline (pypelinin's Pipeliner). Steps are jobs in the job store: the queue of a step is
/// <see cref="PipelineRules.StepQueue"/> of its worker, so every silo that registered the worker can run it, and a
/// dead silo's step comes back like any monitored job. The grain is the authority on which job may run a step: each
/// queueing gets a fresh run id and only the job carrying it is granted (<see cref="BeginStepAsync"/>), so duplicate
/// or stale jobs are dropped by the worker. State is written before jobs are queued; a step whose job may not have
/// reached the store is queued again under a new run by the reconciler (a grain timer, kept alive by a reminder).
/// </summary>
public sealed partial class PipelineGrain(
    [PersistentState("pipeline", JobGrainStorage.Name)] IPersistentState<PipelineGrainState> state,
    QueueDataPlane plane,
    FinishedPipelineLog finishedLog,
    IOptions<PipelineOptions> options,
    TimeProvider timeProvider,
    ILogger<PipelineGrain> logger) : Grain, IPipelineGrain, IRemindable
{
    /// <summary>The reminder that brings a running pipeline back after its silo dies, and deletes a finished one after its retention.</summary>
    public const string KeepAliveReminder = "pipeline-keep-alive";

    private readonly PipelineOptions _options = options.Value;
    private readonly HashSet<int> _queueing = [];
    private TaskCompletionSource _finished = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private IGrainTimer? _reconciler;

    private string Id => this.GetPrimaryKeyString();
    private PipelineGrainState S => state.State;
    private DateTimeOffset Now => timeProvider.GetUtcNow();

    /// <inheritdoc />
    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (S.State == PipelineState.Running) StartReconciler();
        else if (S.Definition is not null) _finished.TrySetResult();
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public async Task<PipelineStatus> StartAsync(PipelineDefinition definition)
    {
        PipelineRules.ValidatePipelineId(Id, "id");
        ArgumentNullException.ThrowIfNull(definition);
        if (S.Definition is { } existing)
        {
            if (existing.SameAs(definition)) return Status();
            throw new ArgumentException($"Pipeline id '{Id}' is taken by another pipeline (started {S.StartedAt:u}, {S.State}); choose another id.", nameof(definition));
        }

        PipelineRules.Validate(definition);
        var registered = await GrainFactory.GetGrain<IPipelineWorkerDirectoryGrain>(0).GetWorkersAsync();
        var unknown = definition.Steps.Where(w => !registered.Contains(w, StringComparer.Ordinal)).ToList();
        if (unknown.Count > 0)
            throw new ArgumentException(
                $"Pipeline '{Id}' names {(unknown.Count == 1 ? "a worker" : "workers")} no running silo registered: {string.Join(", ", unknown)}. " +
                $"Registered workers: {(registered.Count == 0 ? "none" : string.Join(", ", registered))} (silos register them with AddPipelineWorker).",
                nameof(definition));

        var now = Now;
        S.Definition = definition;
        S.State = PipelineState.Running;
        S.StartedAt = now;
        S.Steps = [.. definition.Steps.Select(_ => new StepRecord())];
        var roots = PipelineRules.Roots(definition).ToList();
        foreach (var root in roots) MarkQueued(root, now);

        // The reminder first: if this silo dies after the write below, it brings the pipeline back.
        await this.RegisterOrUpdateReminder(KeepAliveReminder, _options.KeepAlivePeriod, _options.KeepAlivePeriod);
        await SaveAsync();
        StartReconciler();
        await QueueAsync(roots);
        LogStarted(Id, definition.Steps.Count, roots.Count);
        return Status();
    }

    /// <inheritdoc />
    public Task<PipelineStatus> GetStatusAsync() => Task.FromResult(Status());

    /// <inheritdoc />
    public async Task<PipelineStatus> WaitAsync(TimeSpan timeout)
    {
        QueueLimits.CheckRange(timeout, TimeSpan.Zero, QueueLimits.MaxWait, nameof(timeout));
        if (S.Definition is not null && S.State != PipelineState.Running) return Status();
        var finished = _finished.Task;
        await Task.WhenAny(finished, Task.Delay(timeout, timeProvider));
        return Status();
    }

    /// <inheritdoc />
    public async Task<PipelineStatus> CancelAsync()
    {
        if (S.State != PipelineState.Running) return Status();
        S.State = PipelineState.Cancelled;
        S.FinishedAt = Now;
        CancelWaitingSteps();
        await FinishAsync();
        LogCancelled(Id);
        return Status();
    }

    /// <inheritdoc />
    public Task<StepGrant> BeginStepAsync(string worker, Guid run, long jobId, int attempt, string silo)
    {
        if (Refuse(worker, run) is { } refusal) return Task.FromResult(new StepGrant(false, null, refusal));
        var step = S.Steps[IndexOf(worker)];
        if (step.JobId is { } current && current != jobId)
            return Task.FromResult(new StepGrant(false, null, $"job {current} carries this run of step '{worker}'"));

        // Not written: a running step is persisted with the next write, and a lost "running" only shows as "queued".
        step.JobId = jobId;
        step.State = StepState.Running;
        step.Attempts = Math.Max(step.Attempts, attempt);
        step.StartedAt = Now;
        step.Silo = silo;
        return Task.FromResult(new StepGrant(true, S.Definition!.Data));
    }

    /// <inheritdoc />
    public async Task StepSucceededAsync(string worker, Guid run, DateTimeOffset startedAt)
    {
        var index = IndexOfOrNull(worker);
        if (index is not { } i || S.Steps[i].Run != run || S.Steps[i].State is StepState.Done or StepState.Failed) return; // stale or repeated
        var step = S.Steps[i];
        var now = Now;
        step.State = StepState.Done;
        step.StartedAt = startedAt;
        step.FinishedAt = now;
        step.Error = null;
        if (S.State != PipelineState.Running)
        {
            // Cancelled or failed meanwhile: the result is kept, nothing runs after it.
            await SaveAsync();
            return;
        }

        var ready = Successors(i).Where(AllPredecessorsDone).ToList();
        foreach (var next in ready) MarkQueued(next, now);
        if (S.Steps.All(s => s.State == StepState.Done))
        {
            S.State = PipelineState.Succeeded;
            S.FinishedAt = now;
            await FinishAsync();
            return;
        }

        await SaveAsync();
        await QueueAsync(ready);
    }

    /// <inheritdoc />
    public async Task StepFailedAsync(string worker, Guid run, int attempt, string error)
    {
        if (Refuse(worker, run) is not null) return;
        var step = S.Steps[IndexOf(worker)];
        error = QueueLimits.SanitizeText(error.Length > 8192 ? error[..8192] + "…" : error);
        step.Attempts = Math.Max(step.Attempts, attempt);
        step.Error = error;
        if (attempt < S.Definition!.MaxAttempts)
        {
            step.State = StepState.Queued; // the job store retries it after its backoff
            return;
        }

        FailStep(step, worker, $"step '{worker}' failed on attempt {attempt} of {S.Definition.MaxAttempts}: {error}");
        await FinishAsync();
    }

    /// <inheritdoc />
    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        if (reminderName != KeepAliveReminder) return;
        if (S.Definition is null)
        {
            await UnregisterKeepAliveAsync();
            return;
        }

        if (S.State == PipelineState.Running) return; // activation started the reconciler
        if (!S.Logged)
        {
            await FinishAsync();
            return;
        }

        if (S.FinishedAt is { } finishedAt && finishedAt + _options.Retention <= Now)
        {
            await state.ClearStateAsync();
            await UnregisterKeepAliveAsync();
            DeactivateOnIdle();
        }
    }

    private string? Refuse(string worker, Guid run)
    {
        if (S.Definition is null) return $"pipeline '{Id}' was never started";
        if (IndexOfOrNull(worker) is not { } index) return $"pipeline '{Id}' has no step '{worker}'";
        if (S.State != PipelineState.Running) return $"pipeline '{Id}' is {S.State.ToString().ToLowerInvariant()}";
        var step = S.Steps[index];
        if (step.Run != run) return $"the job is for an earlier run of step '{worker}'";
        if (step.State is StepState.Done or StepState.Failed or StepState.Cancelled) return $"step '{worker}' is {step.State.ToString().ToLowerInvariant()}";
        return null;
    }

    private void FailStep(StepRecord step, string worker, string error)
    {
        var now = Now;
        step.State = StepState.Failed;
        step.FinishedAt = now;
        S.State = PipelineState.Failed;
        S.FinishedAt = now;
        S.FailedStep = worker;
        S.Error = error;
        CancelWaitingSteps();
        LogFailed(Id, worker, error);
    }

    private void CancelWaitingSteps()
    {
        foreach (var step in S.Steps.Where(s => s.State is StepState.Pending or StepState.Queued))
        {
            step.State = StepState.Cancelled;
            step.FinishedAt = S.FinishedAt;
        }
    }

    /// <summary>
    /// Records the end: the finished log first, then the state with <see cref="PipelineGrainState.Logged"/> set, so a
    /// crash in between repeats the log entry (readers see the pipeline twice) rather than lose it.
    /// </summary>
    private async Task FinishAsync()
    {
        _reconciler?.Dispose();
        _reconciler = null;
        try
        {
            await finishedLog.AppendAsync(Status());
            S.Logged = true;
        }
        catch (Exception e)
        {
            LogFinishedLogFailed(e, Id); // the reminder appends it later
        }

        await SaveAsync();
        _finished.TrySetResult();
        // From now on the reminder only deletes the state after its retention (or retries the log append). It ticks at
        // most daily: Orleans reminder periods cannot reach the longest retentions.
        var period = S.Logged ? TimeSpan.FromTicks(Math.Min(_options.Retention.Ticks, TimeSpan.FromDays(1).Ticks)) : _options.KeepAlivePeriod;
        await this.RegisterOrUpdateReminder(KeepAliveReminder, period, period);
    }

    private void MarkQueued(int index, DateTimeOffset now)
    {
        var step = S.Steps[index];
        step.State = StepState.Queued;
        step.Run = Guid.NewGuid();
        step.JobId = null;
        step.QueuedAt = now;
    }

    /// <summary>Puts the jobs of freshly queued steps in the store; a failure leaves them to the reconciler.</summary>
    private async Task QueueAsync(IReadOnlyList<int> steps)
    {
        foreach (var index in steps)
        {
            var step = S.Steps[index];
            var worker = S.Definition!.Steps[index];
            var run = step.Run;
            if (!_queueing.Add(index)) continue;
            try
            {
                var payload = new PipelineStepJob(Id, worker, run).ToPayload();
                var ids = await plane.SendAsync(PipelineRules.StepQueue(worker), [new JobMessage(payload, new SendOptions { MaxAttempts = S.Definition.MaxAttempts })]);
                if (step.Run == run && step.JobId is null) step.JobId = ids[0];
            }
            catch (Exception e)
            {
                LogQueueFailed(e, Id, worker);
            }
            finally
            {
                _queueing.Remove(index);
            }
        }
    }

    private void StartReconciler()
    {
        _reconciler?.Dispose();
        _reconciler = this.RegisterGrainTimer(ReconcileAsync, new GrainTimerCreationOptions(_options.ReconcilePeriod, _options.ReconcilePeriod) { KeepAlive = true, Interleave = false });
    }

    /// <summary>
    /// Checks on steps the grain cannot be sure about: queued steps whose job id is unknown (the grain restarted, or
    /// queueing failed) are queued again under a new run; steps queued or running for longer than
    /// <see cref="PipelineOptions.StepCheckAfter"/> have their job read: a dead-lettered job fails the step, a job
    /// that is gone or finished without the step being done is queued again.
    /// </summary>
    private async Task ReconcileAsync(CancellationToken cancellationToken)
    {
        if (S.State != PipelineState.Running) return;
        try
        {
            var now = Now;
            var requeue = new List<int>();
            for (var i = 0; i < S.Steps.Count; i++)
            {
                var step = S.Steps[i];
                if (step.State is not (StepState.Queued or StepState.Running) || _queueing.Contains(i)) continue;
                if (step.JobId is not { } jobId)
                {
                    requeue.Add(i);
                    continue;
                }

                if (now - (step.StartedAt ?? step.QueuedAt ?? now) < _options.StepCheckAfter) continue;
                var worker = S.Definition!.Steps[i];
                var job = await plane.GetJobAsync(PipelineRules.StepQueue(worker), jobId);
                if (job?.State == JobState.DeadLettered)
                {
                    step.Attempts = Math.Max(step.Attempts, job.Attempt);
                    step.Error = job.LastError ?? "its job was dead-lettered";
                    FailStep(step, worker, $"step '{worker}' failed on attempt {job.Attempt} of {job.MaxAttempts}: {step.Error}");
                    await FinishAsync();
                    return;
                }

                if (job is null || job.State == JobState.Completed) requeue.Add(i);
            }

            if (requeue.Count == 0) return;
            foreach (var index in requeue) MarkQueued(index, now);
            await SaveAsync();
            LogRequeued(Id, requeue.Count);
            await QueueAsync(requeue);
        }
        catch (Exception e)
        {
            LogReconcileFailed(e, Id); // the next tick tries again
        }
    }

    private IEnumerable<int> Successors(int index) => S.Definition!.Edges.Where(e => e.From == index).Select(e => e.To);

    private bool AllPredecessorsDone(int index) =>
        S.Definition!.Edges.Where(e => e.To == index).All(e => S.Steps[e.From].State == StepState.Done);

    private int IndexOf(string worker) => IndexOfOrNull(worker) ?? throw new ArgumentException($"Pipeline '{Id}' has no step '{worker}'.", nameof(worker));

    private int? IndexOfOrNull(string worker)
    {
        if (S.Definition is null) return null;
        for (var i = 0; i < S.Definition.Steps.Count; i++)
            if (S.Definition.Steps[i] == worker) return i;
        return null;
    }

    /// <summary>Writes the state; if the write fails the activation is dropped so the next call starts from what is stored.</summary>
    private async Task SaveAsync()
    {
        try
        {
            await state.WriteStateAsync();
        }
        catch
        {
            DeactivateOnIdle();
            throw;
        }
    }

    private async Task UnregisterKeepAliveAsync()
    {
        if (await this.GetReminder(KeepAliveReminder) is { } reminder) await this.UnregisterReminder(reminder);
    }

    private PipelineStatus Status() => new()
    {
        Id = Id,
        State = S.Definition is null ? PipelineState.Unknown : S.State,
        StartedAt = S.StartedAt,
        FinishedAt = S.FinishedAt,
        FailedStep = S.FailedStep,
        Error = S.Error,
        Steps = S.Definition is null
            ? []
            : [.. S.Steps.Select((s, i) => new StepStatus
            {
                Worker = S.Definition.Steps[i],
                State = s.State,
                Attempts = s.Attempts,
                QueuedAt = s.QueuedAt,
                StartedAt = s.StartedAt,
                FinishedAt = s.FinishedAt,
                Silo = s.Silo,
                Error = s.Error,
            })],
    };

    [LoggerMessage(Level = LogLevel.Debug, Message = "Pipeline {Id} started: {Steps} steps, {Roots} queued")]
    private partial void LogStarted(string id, int steps, int roots);

    [LoggerMessage(Level = LogLevel.Information, Message = "Pipeline {Id} cancelled")]
    private partial void LogCancelled(string id);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Pipeline {Id} failed at step {Step}: {Error}")]
    private partial void LogFailed(string id, string step, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Pipeline {Id}: queueing step {Step} failed; the reconciler retries")]
    private partial void LogQueueFailed(Exception exception, string id, string step);

    [LoggerMessage(Level = LogLevel.Information, Message = "Pipeline {Id}: {Count} steps queued again")]
    private partial void LogRequeued(string id, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Pipeline {Id}: reconciling failed; retrying next period")]
    private partial void LogReconcileFailed(Exception exception, string id);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Pipeline {Id}: appending to the finished log failed; the reminder retries")]
    private partial void LogFinishedLogFailed(Exception exception, string id);
}
