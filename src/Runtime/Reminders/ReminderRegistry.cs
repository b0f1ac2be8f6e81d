using Microsoft.Extensions.Options;

namespace Orleans.Jobs.Runtime.Reminders;

/// <summary>Registers and removes reminders on behalf of grains, validating their schedules.</summary>
internal sealed class ReminderRegistry(IClusterStore store, TimeProvider timeProvider, IOptions<ReminderOptions> options)
{
    /// <summary>The longest reminder name.</summary>
    public const int MaxNameLength = 128;

    public async Task<IGrainReminder> RegisterOrUpdateAsync(GrainId grain, string name, TimeSpan dueTime, TimeSpan period)
    {
        if (string.IsNullOrWhiteSpace(name) || name.Length > MaxNameLength)
            throw new ArgumentException($"A reminder name must be 1 to {MaxNameLength} characters and not blank.", nameof(name));
        if (dueTime < TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(dueTime), dueTime, "A reminder's due time must not be negative.");
        if (period < options.Value.MinimumPeriod)
            throw new ArgumentOutOfRangeException(nameof(period), period, $"A reminder's period must be at least {options.Value.MinimumPeriod} ({nameof(ReminderOptions)}.{nameof(ReminderOptions.MinimumPeriod)}).");

        var first = timeProvider.GetUtcNow() + dueTime;
        var entry = new ReminderEntry(grain, name, first, period, first);
        await store.UpsertReminderAsync(entry, CancellationToken.None);
        return entry;
    }

    public async Task UnregisterAsync(GrainId grain, string name) =>
        await store.RemoveReminderAsync(grain, name, CancellationToken.None);

    public async Task<IGrainReminder?> GetAsync(GrainId grain, string name) =>
        await store.GetReminderAsync(grain, name, CancellationToken.None);
}
