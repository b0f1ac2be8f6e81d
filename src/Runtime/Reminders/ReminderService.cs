using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Jobs.Runtime.Hosting;

namespace Orleans.Jobs.Runtime.Reminders;

/// <summary>
/// Ticks reminders: each period it takes the due ticks from the store (each tick goes to exactly one silo) and
/// delivers them to their grains as turns.
/// </summary>
public sealed partial class ReminderService(
    IClusterStore store,
    LocalGrainRuntime runtime,
    TimeProvider timeProvider,
    SiloLifetime lifetime,
    IOptions<ReminderOptions> options,
    ILogger<ReminderService> logger) : SiloBackgroundService(lifetime)
{
    private readonly ReminderOptions _options = options.Value;

    /// <inheritdoc />
    protected override async Task RunAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(_options.PollPeriod, timeProvider);
        while (await timer.WaitForNextTickAsync(stoppingToken))
            await TickOnceAsync(stoppingToken);
    }

    /// <summary>Takes and delivers the ticks due now; returns how many were delivered.</summary>
    public async Task<int> TickOnceAsync(CancellationToken cancellationToken)
    {
        if (Lifetime.IsKilled) return 0;
        IReadOnlyList<DueReminderTick> ticks;
        try
        {
            ticks = await store.ClaimDueRemindersAsync(timeProvider.GetUtcNow(), _options.MaxTicksPerPoll, cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogClaimFailed(e);
            return 0;
        }

        // Each tick is a turn, and a turn holds a store connection: deliver a bounded number at a time.
        var delivered = 0;
        await Parallel.ForEachAsync(ticks, new ParallelOptions { MaxDegreeOfParallelism = _options.MaxConcurrentTicks, CancellationToken = cancellationToken }, async (tick, _) =>
        {
            if (await DeliverAsync(tick)) Interlocked.Increment(ref delivered);
        });
        return delivered;
    }

    private async Task<bool> DeliverAsync(DueReminderTick tick)
    {
        try
        {
            await runtime.DeliverReminderAsync(tick);
            return true;
        }
        catch (Exception e)
        {
            LogDeliveryFailed(e, tick.Reminder.Name, tick.Reminder.Grain.ToString());
            return false;
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Could not take due reminder ticks from the store")]
    private partial void LogClaimFailed(Exception exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "Reminder {Reminder} of grain {Grain} failed")]
    private partial void LogDeliveryFailed(Exception exception, string reminder, string grain);
}
