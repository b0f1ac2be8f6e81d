namespace Orleans.Jobs.Runtime.Reminders;

/// <summary>Implemented by grains that receive reminder ticks.</summary>
public interface IRemindable : IGrain
{
    /// <summary>Called, as a turn, when a reminder ticks.</summary>
    Task ReceiveReminder(string reminderName, TickStatus status);
}

/// <summary>Where a reminder tick sits in its schedule.</summary>
/// <param name="FirstTickTime">When the reminder first ticks.</param>
/// <param name="Period">Time between ticks.</param>
/// <param name="CurrentTickTime">The scheduled time of this tick.</param>
public readonly record struct TickStatus(DateTimeOffset FirstTickTime, TimeSpan Period, DateTimeOffset CurrentTickTime);

/// <summary>A handle to a registered reminder.</summary>
public interface IGrainReminder
{
    /// <summary>The reminder's name, unique per grain.</summary>
    string ReminderName { get; }
}

/// <summary>A stored reminder.</summary>
/// <param name="Grain">The grain it ticks.</param>
/// <param name="Name">Its name, unique per grain.</param>
/// <param name="FirstTickAt">When it first ticks.</param>
/// <param name="Period">Time between ticks.</param>
/// <param name="NextTickAt">When it ticks next.</param>
public sealed record ReminderEntry(GrainId Grain, string Name, DateTimeOffset FirstTickAt, TimeSpan Period, DateTimeOffset NextTickAt) : IGrainReminder
{
    string IGrainReminder.ReminderName => Name;

    /// <summary>The first tick of this schedule strictly after <paramref name="now"/>.</summary>
    public DateTimeOffset NextTickAfter(DateTimeOffset now)
    {
        if (now < FirstTickAt) return FirstTickAt;
        var elapsedPeriods = (now - FirstTickAt).Ticks / Period.Ticks;
        return FirstTickAt + TimeSpan.FromTicks(Period.Ticks * (elapsedPeriods + 1));
    }
}

/// <summary>A reminder tick handed to one silo to deliver.</summary>
public sealed record DueReminderTick(ReminderEntry Reminder, DateTimeOffset TickTime)
{
    /// <summary>The status passed to <see cref="IRemindable.ReceiveReminder"/>.</summary>
    public TickStatus Status => new(Reminder.FirstTickAt, Reminder.Period, TickTime);
}
