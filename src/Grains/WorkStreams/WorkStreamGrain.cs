using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Jobs.Grains.Interfaces;
using Orleans.Jobs.Grains.Interfaces.Code;
using Orleans.Jobs.Grains.Interfaces.WorkStreams;
using Orleans.Jobs.Grains.Queues;
using Orleans.Jobs.Storage;
using Orleans.Runtime;

namespace Orleans.Jobs.Grains.WorkStreams;

/// <summary>
/// One work stream (Impetus' stream). Forks are monitored jobs of the stream's queue (<see cref="WorkStreamRules.Queue"/>),
/// run by the nodes' workers; each finished fork's record is appended once, keyed by the fork, to its callback
/// stage's result log in the job store, so a fork run twice (its worker died after writing) is received once. Forks
/// are queued before the counters are written: a crash in between queues them again on the client's retry, and the
/// keyed log still takes each record once. A grain timer (kept alive by a reminder while the stream is listed) retires
/// the stream from the nodes' directory once idle, and turns dead-lettered forks into error records (then purges those dead letters: the record keeps what they said).
/// </summary>
public sealed partial class WorkStreamGrain(
    [PersistentState("work-stream", JobGrainStorage.Name)] IPersistentState<WorkStreamGrainState> state,
    QueueDataPlane plane,
    IEventLogStore logs,
    IOptions<WorkStreamOptions> options,
    TimeProvider timeProvider,
    ILogger<WorkStreamGrain> logger) : Grain, IWorkStreamGrain, IRemindable
{
    /// <summary>The reminder that brings a listed stream back after its silo dies.</summary>
    public const string KeepAliveReminder = "work-stream-keep-alive";

    private const int DeadLettersPerCheck = 100;
    private IGrainTimer? _checker;

    private string Id => this.GetPrimaryKeyString();
    private WorkStreamGrainState S => state.State;
    private DateTimeOffset Now => timeProvider.GetUtcNow();
    private IWorkStreamDirectoryGrain Directory => GrainFactory.GetGrain<IWorkStreamDirectoryGrain>(0);

    /// <inheritdoc />
    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (S.Listed) StartChecker();
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public async Task<WorkStreamInfo> OpenAsync(WorkStreamDefinition definition)
    {
        WorkStreamRules.ValidateStreamId(Id, "id");
        ArgumentNullException.ThrowIfNull(definition);
        WorkStreamRules.ValidateStages(definition.Stages, nameof(definition.Stages));
        WorkStreamRules.Validate(definition.Properties, nameof(definition.Properties));
        if (S.Stages is { } stages)
        {
            if (!stages.SequenceEqual(definition.Stages, StringComparer.Ordinal))
                throw new ArgumentException($"Stream '{Id}' exists with stages [{string.Join(", ", stages)}], not [{string.Join(", ", definition.Stages)}]: reattach with the same stages, or use another id.", nameof(definition));
            return Info(created: false);
        }

        S.Stages = [.. definition.Stages];
        S.Properties = definition.Properties;
        S.OpenedAt = S.LastActivity = Now;
        S.Counters = definition.Stages.ToDictionary(s => s, _ => new StageCounters(), StringComparer.Ordinal);
        await state.WriteStateAsync();
        LogOpened(Id, string.Join(", ", definition.Stages));
        return Info(created: true);
    }

    /// <inheritdoc />
    public async Task<WorkStreamProperties> UpdatePropertiesAsync(WorkStreamPropertyChanges changes)
    {
        ArgumentNullException.ThrowIfNull(changes);
        RequireOpen();
        var updated = S.Properties.With(changes);
        WorkStreamRules.Validate(updated, nameof(changes));
        if (updated == S.Properties) return updated;
        await WriteAsync(() => { S.Properties = updated; S.LastActivity = Now; });
        if (S.Listed) await Directory.AnnounceAsync(new ActiveWorkStream(Id, updated));
        return updated;
    }

    /// <inheritdoc />
    public Task<WorkStreamInfo?> GetInfoAsync() => Task.FromResult(S.Stages is null ? null : Info(created: false));

    /// <inheritdoc />
    public async Task<ForkReceipt> ForkAsync(string stage, long firstOrdinal, IReadOnlyList<ForkRequest> forks)
    {
        RequireOpen();
        if (S.Closed) throw new InvalidOperationException($"Stream '{Id}' is closed: it takes no more forks.");
        var from = Stage(stage, nameof(stage));
        ArgumentNullException.ThrowIfNull(forks);
        if (forks.Count > WorkStreamRules.MaxForkBatch)
            throw new ArgumentException($"A fork call carries {forks.Count} forks; the limit is {WorkStreamRules.MaxForkBatch}.", nameof(forks));
        var counters = S.Counters[stage];
        if (counters.Complete) throw new InvalidOperationException($"Stage '{stage}' of stream '{Id}' is complete: it forks no more.");
        if (firstOrdinal < 0 || firstOrdinal > counters.Forked)
            throw new ArgumentOutOfRangeException(nameof(firstOrdinal), firstOrdinal, $"firstOrdinal must be between 0 and {counters.Forked} (the forks stage '{stage}' has made): forks are numbered in order without gaps.");
        for (var i = 0; i < forks.Count; i++) ValidateFork(forks[i], from, $"forks[{i}]");

        var skipped = (int)Math.Min(forks.Count, counters.Forked - firstOrdinal);
        var now = Now;
        var properties = S.Properties;
        var jobs = forks.Skip(skipped).Select((fork, i) =>
        {
            var job = new ForkJob
            {
                Id = WorkStreamRules.ForkKey(stage, counters.Forked + i),
                Client = Id,
                Name = fork.Name,
                Function = fork.Function,
                Code = fork.Hash,
                Args = fork.Args,
                Stage = stage,
                Callback = fork.Callback,
                Created = now,
                Delay = fork.Delay ?? properties.JobDelay,
                Priority = fork.Priority ?? properties.JobPriority,
            };
            return (Job: job, Message: new JobMessage(WorkStreamJson.Write(job), new SendOptions
            {
                Priority = job.Priority,
                Delay = job.Delay > TimeSpan.Zero ? job.Delay : null,
                MaxAttempts = properties.MaxAttempts,
            }));
        }).ToList();
        if (jobs.Count == 0) return new ForkReceipt(0, skipped, counters.Forked);

        await plane.SendAsync(WorkStreamRules.Queue(Id), [.. jobs.Select(j => j.Message)]);
        await WriteAsync(() =>
        {
            counters.Forked += jobs.Count;
            foreach (var callback in jobs.GroupBy(j => j.Job.Callback)) S.Counters[callback.Key].Expected += callback.Count();
            S.LastActivity = now;
        });
        await ListAsync();
        return new ForkReceipt(jobs.Count, skipped, counters.Forked);
    }

    /// <inheritdoc />
    public async Task CompleteStageAsync(string stage, long taken)
    {
        RequireOpen();
        Stage(stage, nameof(stage));
        var counters = S.Counters[stage];
        if (counters.Complete && counters.Taken >= taken) return;
        await WriteAsync(() => { counters.Complete = true; counters.Taken = Math.Max(counters.Taken, taken); });
    }

    /// <inheritdoc />
    public async Task AcknowledgeAsync(string stage, long taken)
    {
        RequireOpen();
        Stage(stage, nameof(stage));
        var counters = S.Counters[stage];
        if (counters.Taken >= taken) return;
        // The client sends a batch's forks before acknowledging it, so they are all counted here.
        await WriteAsync(() => (counters.Taken, counters.ForkedWhenTaken) = (taken, counters.Forked));
    }

    /// <inheritdoc />
    public async Task<ForkResultPage> ReadResultsAsync(string stage, long after, int max, TimeSpan wait)
    {
        RequireOpen();
        var index = Stage(stage, nameof(stage));
        QueueLimits.CheckRange(after, 0, long.MaxValue, nameof(after));
        QueueLimits.CheckRange(max, 1, EventLogRules.MaxReadCount, nameof(max));
        QueueLimits.CheckRange(wait, TimeSpan.Zero, QueueLimits.MaxWait, nameof(wait));
        var log = WorkStreamRules.ResultLog(Id, stage);
        using var signals = logs.SubscribeLog(log);
        var deadline = Now + wait;
        while (true)
        {
            var page = await logs.ReadAsync(log, after, max, CancellationToken.None);
            var result = new ForkResultPage([.. page.Entries.Select(e => WorkStreamJson.ReadRecord(e.Payload, e.Sequence))],
                page.Head, S.Counters[stage].Expected, InputClosed(index));
            var left = deadline - Now;
            if (result.Records.Count > 0 || result.AllArrived || left <= TimeSpan.Zero) return result;
            await signals.WaitAsync(left, timeProvider, CancellationToken.None);
        }
    }

    /// <inheritdoc />
    public async Task<WorkStreamProgress> GetProgressAsync()
    {
        RequireOpen();
        var stages = new List<StageProgress>(S.Stages!.Count);
        foreach (var stage in S.Stages)
        {
            var c = S.Counters[stage];
            stages.Add(new StageProgress(stage, c.Forked, c.Expected, await ReceivedAsync(stage), c.Taken, c.Complete, c.ForkedWhenTaken));
        }

        return new WorkStreamProgress(Id, stages, S.Closed);
    }

    /// <inheritdoc />
    public async Task CloseAsync()
    {
        RequireOpen();
        if (S.Closed) return;
        await WriteAsync(() => S.Closed = true);
        await UnlistAsync("closed");
    }

    /// <inheritdoc />
    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        if (reminderName != KeepAliveReminder) return;
        if (!S.Listed && await this.GetReminder(KeepAliveReminder) is { } reminder) await this.UnregisterReminder(reminder);
        // Otherwise the activation started the checker.
    }

    private WorkStreamInfo Info(bool created) => new(Id, S.Stages!, S.Properties, S.OpenedAt, created, S.Closed);

    private void RequireOpen()
    {
        if (S.Stages is null) throw new InvalidOperationException($"Stream '{Id}' was never opened: open it first (OpenAsync, or a WorkStreamClient's RunAsync).");
    }

    /// <summary>The index of a stage, which must be one of the stream's.</summary>
    private int Stage(string? stage, string paramName)
    {
        var index = stage is null ? -1 : S.Stages!.IndexOf(stage);
        if (index < 0) throw new ArgumentException($"Stream '{Id}' has no stage '{stage}'; its stages: {string.Join(", ", S.Stages!)}.", paramName);
        return index;
    }

    /// <summary>True when every stage before <paramref name="index"/> is complete.</summary>
    private bool InputClosed(int index) => S.Stages!.Take(index).All(s => S.Counters[s].Complete);

    private void ValidateFork(ForkRequest? fork, int from, string name)
    {
        if (fork is null) throw new ArgumentNullException(name, $"{name} is null.");
        QueueLimits.ValidatePayload(fork.Name, $"{name}.Name");
        if (fork.Name.Length is 0 or > 128) throw new ArgumentException($"{name}.Name must be 1 to 128 characters.", name);
        new PostedFunctionCall(fork.Hash, fork.Function, fork.Args).Validate();
        var callback = Stage(fork.Callback, $"{name}.Callback");
        if (callback <= from)
            throw new ArgumentException($"{name}.Callback '{fork.Callback}' is not after stage '{S.Stages![from]}': a fork's record goes to a later stage.", name);
        WorkStreamRules.ValidateForkOverrides(fork.Delay, fork.Priority, name);
    }

    private async Task<long> ReceivedAsync(string stage) =>
        (await logs.ReadAsync(WorkStreamRules.ResultLog(Id, stage), long.MaxValue - 1, 1, CancellationToken.None)).Head;

    /// <summary>Writes a change to the state; a failed write puts the state back as stored.</summary>
    private async Task WriteAsync(Action change)
    {
        change();
        try
        {
            await state.WriteStateAsync();
        }
        catch
        {
            await state.ReadStateAsync();
            throw;
        }
    }

    /// <summary>Puts the stream in the nodes' directory, with the reminder that brings it back first.</summary>
    private async Task ListAsync()
    {
        if (S.Listed) return;
        await this.RegisterOrUpdateReminder(KeepAliveReminder, options.Value.KeepAlivePeriod, options.Value.KeepAlivePeriod);
        await Directory.AnnounceAsync(new ActiveWorkStream(Id, S.Properties));
        await WriteAsync(() => S.Listed = true);
        StartChecker();
        LogListed(Id);
    }

    private async Task UnlistAsync(string why)
    {
        _checker?.Dispose();
        _checker = null;
        if (!S.Listed) return;
        await Directory.RetireAsync(Id);
        await WriteAsync(() => S.Listed = false);
        if (await this.GetReminder(KeepAliveReminder) is { } reminder) await this.UnregisterReminder(reminder);
        LogUnlisted(Id, why);
    }

    private void StartChecker() =>
        _checker ??= this.RegisterGrainTimer(CheckAsync, new GrainTimerCreationOptions(options.Value.CheckPeriod, options.Value.CheckPeriod) { KeepAlive = true, Interleave = false });

    /// <summary>Retires the stream once idle; gives dead-lettered forks their error records.</summary>
    private async Task CheckAsync(CancellationToken cancellationToken)
    {
        if (!S.Listed) return;
        var outstanding = 0L;
        foreach (var stage in S.Stages!) outstanding += Math.Max(0, S.Counters[stage].Expected - await ReceivedAsync(stage));
        if (outstanding == 0)
        {
            if (Now - S.LastActivity >= S.Properties.IdleTimeout)
            {
                await UnlistAsync($"idle for {S.Properties.IdleTimeout}");
                return;
            }
        }

        // Again at every check: the directory is in memory, so one lost with its silo refills within a period.
        await Directory.AnnounceAsync(new ActiveWorkStream(Id, S.Properties));
        if (outstanding == 0) return;

        var queue = WorkStreamRules.Queue(Id);
        foreach (var dead in await plane.GetDeadLettersAsync(queue, DeadLettersPerCheck))
        {
            ForkJob job;
            try
            {
                job = WorkStreamJson.ReadJob(dead.Payload);
            }
            catch (ArgumentException)
            {
                continue; // not a fork: someone sent to the stream's queue by hand
            }

            var record = new ForkRecord
            {
                Job = job,
                Status = ForkStatus.Error,
                Error = new ForkError($"every run's worker died ({dead.Attempt} of {dead.MaxAttempts}); last: {dead.LastError ?? "no error recorded"}", job.Name, ExceptionType: "WorkerLost"),
                Started = dead.EnqueuedAt,
                Finished = dead.FinishedAt ?? Now,
                Attempt = dead.Attempt,
            };
            var appended = await logs.AppendOnceAsync(WorkStreamRules.ResultLog(Id, job.Callback), [new KeyedLogEntry(job.Id, WorkStreamJson.Write(record))], Now, cancellationToken);
            if (appended[0].Added) LogWorkerLost(Id, job.Id, dead.Attempt);
            // Its record holds what the dead letter said; purged, it is not read again at every check.
            await plane.PurgeDeadLettersAsync(queue, [dead.JobId]);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Opened work stream {StreamId} with stages {Stages}")]
    private partial void LogOpened(string streamId, string stages);

    [LoggerMessage(Level = LogLevel.Information, Message = "Work stream {StreamId} is active: nodes track it")]
    private partial void LogListed(string streamId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Work stream {StreamId} left the nodes' directory: {Reason}")]
    private partial void LogUnlisted(string streamId, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Fork {ForkId} of work stream {StreamId} got an error record: its worker died on all {Attempts} runs")]
    private partial void LogWorkerLost(string streamId, string forkId, int attempts);
}
