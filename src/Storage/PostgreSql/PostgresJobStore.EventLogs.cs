namespace Orleans.Jobs.Storage.PostgreSql;

public sealed partial class PostgresJobStore : IEventLogStore
{
    /// <inheritdoc />
    public async Task<IReadOnlyList<long>> AppendAsync(string log, IReadOnlyList<string> payloads, DateTimeOffset now, CancellationToken cancellationToken)
    {
        EventLogRules.ValidateAppend(log, payloads);
        if (payloads.Count == 0) return [];

        var key = EventLogRules.SignalKey(log);
        await using var batch = _dataSource.CreateBatch();
        batch.BatchCommands.Add(BatchCommand(_sql.AppendToLog, ("log", log), ("payloads", payloads.ToArray()), ("now", now)));
        batch.BatchCommands.Add(NotifyCommand(key)); // one implicit transaction: readers on other silos wake once the entries are visible

        var sequences = new List<long>(payloads.Count);
        await using (var reader = await batch.ExecuteReaderAsync(cancellationToken))
            while (await reader.ReadAsync(cancellationToken)) sequences.Add(reader.GetInt64(0));
        sequences.Sort(); // INSERT ... RETURNING has no order
        _availability.Signal(key); // this process's readers need not wait for the NOTIFY round trip
        return sequences;
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<KeyedAppendResult>> AppendOnceAsync(string log, IReadOnlyList<KeyedLogEntry> entries, DateTimeOffset now, CancellationToken cancellationToken)
    {
        EventLogRules.ValidateAppendOnce(log, entries);
        if (entries.Count == 0) return [];

        // Two statements in one implicit transaction, one round trip: the first waits for the head row lock, the
        // second then sees the keys every earlier appender committed (see PostgresQueries.LockLogHead).
        var signal = EventLogRules.SignalKey(log);
        await using var batch = _dataSource.CreateBatch();
        batch.BatchCommands.Add(BatchCommand(_sql.LockLogHead, ("log", log)));
        batch.BatchCommands.Add(BatchCommand(_sql.AppendOnceToLog,
            ("log", log),
            ("keys", entries.Select(e => e.Key).ToArray()),
            ("payloads", entries.Select(e => e.Payload).ToArray()),
            ("now", now),
            ("channel", _sql.Channel),
            ("signal", signal)));

        var results = new List<KeyedAppendResult>(entries.Count);
        await using (var reader = await batch.ExecuteReaderAsync(cancellationToken))
            while (await reader.ReadAsync(cancellationToken)) results.Add(new KeyedAppendResult(reader.GetInt64(0), reader.GetBoolean(1)));
        if (results.Any(r => r.Added)) _availability.Signal(signal); // this process's readers need not wait for the NOTIFY round trip
        return results;
    }

    /// <inheritdoc />
    public async Task<EventLogPage> ReadAsync(string log, long after, int max, CancellationToken cancellationToken)
    {
        EventLogRules.ValidateRead(log, after, max);
        await using var command = Command(_sql.ReadLog, ("log", log), ("after", after), ("max", max));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var entries = new List<EventLogEntry>();
        long head = 0;
        long? oldest = null;
        while (await reader.ReadAsync(cancellationToken))
        {
            head = reader.GetInt64(0);
            oldest = reader.IsDBNull(1) ? null : reader.GetInt64(1);
            if (!reader.IsDBNull(2))
                entries.Add(new EventLogEntry(reader.GetInt64(2), reader.GetString(3), reader.GetFieldValue<DateTimeOffset>(4)));
        }

        return new EventLogPage(entries, head, oldest ?? head + 1);
    }

    /// <inheritdoc />
    public async Task<int> TrimAsync(string log, DateTimeOffset appendedBefore, CancellationToken cancellationToken)
    {
        EventLogRules.ValidateLog(log);
        await using var command = Command(_sql.TrimLog, ("log", log), ("before", appendedBefore));
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <inheritdoc />
    public IJobAvailabilitySubscription SubscribeLog(string log)
    {
        EventLogRules.ValidateLog(log);
        return _availability.Subscribe(EventLogRules.SignalKey(log));
    }
}
