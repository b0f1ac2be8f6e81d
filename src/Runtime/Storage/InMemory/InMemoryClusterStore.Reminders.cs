using Orleans.Jobs.Runtime.Reminders;

namespace Orleans.Jobs.Runtime.Storage.InMemory;

public sealed partial class InMemoryClusterStore
{
    private readonly Dictionary<(GrainId Grain, string Name), ReminderEntry> _reminders = [];

    /// <inheritdoc />
    public Task UpsertReminderAsync(ReminderEntry reminder, CancellationToken cancellationToken)
    {
        lock (_reminders) _reminders[(reminder.Grain, reminder.Name)] = reminder;
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task<bool> RemoveReminderAsync(GrainId grain, string name, CancellationToken cancellationToken)
    {
        lock (_reminders) return Task.FromResult(_reminders.Remove((grain, name)));
    }

    /// <inheritdoc />
    public Task<ReminderEntry?> GetReminderAsync(GrainId grain, string name, CancellationToken cancellationToken)
    {
        lock (_reminders) return Task.FromResult(_reminders.GetValueOrDefault((grain, name)));
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<DueReminderTick>> ClaimDueRemindersAsync(DateTimeOffset now, int maxTicks, CancellationToken cancellationToken)
    {
        var ticks = new List<DueReminderTick>();
        lock (_reminders)
        {
            foreach (var (key, reminder) in _reminders.Where(r => r.Value.NextTickAt <= now).OrderBy(r => r.Value.NextTickAt).Take(maxTicks).ToList())
            {
                ticks.Add(new DueReminderTick(reminder, reminder.NextTickAt));
                _reminders[key] = reminder with { NextTickAt = reminder.NextTickAfter(now) };
            }
        }

        return Task.FromResult<IReadOnlyList<DueReminderTick>>(ticks);
    }
}
