using Npgsql;
using Orleans.Jobs.Runtime.Reminders;

namespace Orleans.Jobs.Runtime.Storage.PostgreSql;

public sealed partial class PostgresClusterStore
{
    /// <inheritdoc />
    public async Task UpsertReminderAsync(ReminderEntry reminder, CancellationToken cancellationToken)
    {
        await using var command = Command(_sql.UpsertReminder,
            ("type", reminder.Grain.Type), ("key", reminder.Grain.Key), ("name", reminder.Name),
            ("first", reminder.FirstTickAt), ("period", Microseconds(reminder.Period)), ("next", reminder.NextTickAt));
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <inheritdoc />
    public async Task<bool> RemoveReminderAsync(GrainId grain, string name, CancellationToken cancellationToken)
    {
        await using var command = Command(_sql.DeleteReminder, ("type", grain.Type), ("key", grain.Key), ("name", name));
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    /// <inheritdoc />
    public async Task<ReminderEntry?> GetReminderAsync(GrainId grain, string name, CancellationToken cancellationToken)
    {
        await using var command = Command(_sql.ReadReminder, ("type", grain.Type), ("key", grain.Key), ("name", name));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? ReadReminder(reader) : null;
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<DueReminderTick>> ClaimDueRemindersAsync(DateTimeOffset now, int maxTicks, CancellationToken cancellationToken)
    {
        // Lock the due rows (skipping those another silo is taking), move each to its next tick, commit: each tick goes to one silo.
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var due = new List<ReminderEntry>();
        await using (var select = Command(connection, transaction, _sql.LockDueReminders, ("now", now), ("max", maxTicks)))
        await using (var reader = await select.ExecuteReaderAsync(cancellationToken))
            while (await reader.ReadAsync(cancellationToken)) due.Add(ReadReminder(reader));

        if (due.Count > 0)
        {
            await using var advance = Command(connection, transaction, _sql.AdvanceReminders,
                ("types", due.Select(r => r.Grain.Type).ToArray()), ("keys", due.Select(r => r.Grain.Key).ToArray()),
                ("names", due.Select(r => r.Name).ToArray()), ("nexts", due.Select(r => r.NextTickAfter(now)).ToArray()));
            await advance.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        return due.Select(r => new DueReminderTick(r, r.NextTickAt)).ToList();
    }

    private static ReminderEntry ReadReminder(NpgsqlDataReader reader) => new(
        new GrainId(reader.GetString(0), reader.GetString(1)),
        reader.GetString(2),
        reader.GetFieldValue<DateTimeOffset>(3),
        TimeSpan.FromMicroseconds(reader.GetInt64(4)),
        reader.GetFieldValue<DateTimeOffset>(5));

    private static long Microseconds(TimeSpan span) => span.Ticks / TimeSpan.TicksPerMicrosecond;
}
