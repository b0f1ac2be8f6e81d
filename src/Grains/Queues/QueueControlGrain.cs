using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Jobs.Grains.Interfaces;
using Orleans.Jobs.Storage;
using Orleans.Runtime;

namespace Orleans.Jobs.Grains.Queues;

/// <summary>The persistent state of a queue's control grain.</summary>
[GenerateSerializer, Alias("jobs.QueueControlState")]
public sealed class QueueControlState
{
    /// <summary>Settings set with <see cref="IQueueGrain.ConfigureAsync"/>; null means the silo defaults.</summary>
    [Id(0)]
    public QueueSettings? Settings { get; set; }

    /// <summary>True once the queue has had work: its monitor runs from then on, across restarts.</summary>
    [Id(1)]
    public bool Monitored { get; set; }
}

/// <summary>
/// A queue's control plane: its settings (Orleans grain state) and its monitor. The monitor is a grain timer every
/// <see cref="QueueSettings.MonitorPeriod"/> (seconds, below Orleans' one-minute reminder minimum) that returns jobs
/// whose lease expired and prunes finished jobs past their retention; a reminder (durable, every
/// <see cref="QueueOptions.KeepAlivePeriod"/>) reactivates the grain — and with it the timer — after the silo that
/// hosted it stops or dies, even if nobody touches the queue again.
/// </summary>
public sealed partial class QueueControlGrain(
    [PersistentState("queue", JobGrainStorage.Name)] IPersistentState<QueueControlState> state,
    IJobStore store,
    IOptions<QueueOptions> options,
    TimeProvider timeProvider,
    ILogger<QueueControlGrain> logger) : Grain, IQueueControlGrain, IRemindable
{
    /// <summary>The name of the reminder that keeps the monitor alive.</summary>
    public const string KeepAliveReminder = "monitor-keep-alive";

    private IGrainTimer? _monitor;
    private TimeSpan _monitorPeriod;

    private string Queue => this.GetPrimaryKeyString();
    private QueueSettings Settings => state.State.Settings ?? options.Value.Defaults;

    /// <inheritdoc />
    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        QueueName.Parse(Queue);
        if (state.State.Monitored) StartTimer();
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task<QueueSettings> GetSettingsAsync() => Task.FromResult(Settings);

    /// <inheritdoc />
    public async Task ConfigureAsync(QueueSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        settings.Validate();
        state.State.Settings = settings;
        await state.WriteStateAsync();
        if (_monitor is not null && _monitorPeriod != settings.MonitorPeriod) StartTimer();
    }

    /// <inheritdoc />
    public async Task<QueueSettings> UpdateSettingsAsync(QueueSettingsChanges changes)
    {
        ArgumentNullException.ThrowIfNull(changes);
        var settings = Settings.With(changes);
        await ConfigureAsync(settings);
        return settings;
    }

    /// <inheritdoc />
    public async Task EnsureMonitorAsync()
    {
        if (state.State.Monitored && _monitor is not null) return;
        var keepAlive = options.Value.KeepAlivePeriod;
        await this.RegisterOrUpdateReminder(KeepAliveReminder, keepAlive, keepAlive);
        if (!state.State.Monitored)
        {
            state.State.Monitored = true;
            await state.WriteStateAsync();
        }

        StartTimer();
    }

    /// <inheritdoc />
    public async Task<int> RecoverExpiredLeasesAsync()
    {
        var now = timeProvider.GetUtcNow();
        var recovered = await store.RecoverExpiredLeasesAsync(Queue, now, CancellationToken.None);
        var settings = Settings;
        await store.PruneFinishedAsync(Queue, now - settings.CompletedRetention, now - settings.DeadLetterRetention, CancellationToken.None);
        return recovered;
    }

    /// <inheritdoc />
    public Task ReceiveReminder(string reminderName, TickStatus status)
    {
        // Being activated was the point: OnActivateAsync started the timer.
        if (reminderName == KeepAliveReminder && _monitor is null && state.State.Monitored) StartTimer();
        return Task.CompletedTask;
    }

    private void StartTimer()
    {
        _monitor?.Dispose();
        _monitorPeriod = Settings.MonitorPeriod;
        _monitor = this.RegisterGrainTimer(MonitorTickAsync, new GrainTimerCreationOptions(_monitorPeriod, _monitorPeriod) { KeepAlive = true, Interleave = false });
    }

    private async Task MonitorTickAsync(CancellationToken cancellationToken)
    {
        try
        {
            var recovered = await RecoverExpiredLeasesAsync();
            if (recovered > 0) LogRecovered(Queue, recovered);
        }
        catch (Exception e)
        {
            LogMonitorFailed(e, Queue); // the next tick tries again
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Queue {Queue}: {Count} jobs whose lease expired came back")]
    private partial void LogRecovered(string queue, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Queue {Queue}: the monitor pass failed; retrying next period")]
    private partial void LogMonitorFailed(Exception exception, string queue);
}
