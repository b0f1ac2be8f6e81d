using System.Collections.Concurrent;

namespace Orleans.Jobs.Storage.InMemory;

public sealed partial class InMemoryJobStore : IEventLogStore
{
    private readonly ConcurrentDictionary<string, LogRows> _logs = new(StringComparer.Ordinal);

    /// <inheritdoc />
    public Task<IReadOnlyList<long>> AppendAsync(string log, IReadOnlyList<string> payloads, DateTimeOffset now, CancellationToken cancellationToken)
    {
        EventLogRules.ValidateAppend(log, payloads);
        if (payloads.Count == 0) return Task.FromResult<IReadOnlyList<long>>([]);

        var rows = _logs.GetOrAdd(log, static _ => new LogRows());
        var sequences = new long[payloads.Count];
        lock (rows)
        {
            for (var i = 0; i < payloads.Count; i++)
                sequences[i] = rows.Append(payloads[i], now);
        }

        _availability.Signal(EventLogRules.SignalKey(log));
        return Task.FromResult<IReadOnlyList<long>>(sequences);
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<KeyedAppendResult>> AppendOnceAsync(string log, IReadOnlyList<KeyedLogEntry> entries, DateTimeOffset now, CancellationToken cancellationToken)
    {
        EventLogRules.ValidateAppendOnce(log, entries);
        if (entries.Count == 0) return Task.FromResult<IReadOnlyList<KeyedAppendResult>>([]);

        var rows = _logs.GetOrAdd(log, static _ => new LogRows());
        var results = new KeyedAppendResult[entries.Count];
        var added = false;
        lock (rows)
        {
            // Validated above, so nothing in here can fail halfway: all new entries go in, or (on a throw above) none.
            for (var i = 0; i < entries.Count; i++)
            {
                var (key, payload) = entries[i];
                if (rows.SequencesByKey.TryGetValue(key, out var earlier))
                {
                    results[i] = new KeyedAppendResult(earlier, Added: false);
                    continue;
                }

                var sequence = rows.Append(payload, now);
                rows.SequencesByKey.Add(key, sequence);
                results[i] = new KeyedAppendResult(sequence, Added: true);
                added = true;
            }
        }

        if (added) _availability.Signal(EventLogRules.SignalKey(log));
        return Task.FromResult<IReadOnlyList<KeyedAppendResult>>(results);
    }

    /// <inheritdoc />
    public Task<EventLogPage> ReadAsync(string log, long after, int max, CancellationToken cancellationToken)
    {
        EventLogRules.ValidateRead(log, after, max);
        if (!_logs.TryGetValue(log, out var rows)) return Task.FromResult(new EventLogPage([], 0, 1));

        lock (rows)
        {
            // Entries hold consecutive sequences (trims take a prefix), so the first one after `after` is found by arithmetic.
            var oldest = rows.Oldest;
            var start = (int)Math.Min(Math.Max(after + 1 - oldest, 0), rows.Entries.Count);
            var page = rows.Entries.GetRange(start, Math.Min(max, rows.Entries.Count - start));
            return Task.FromResult(new EventLogPage(page, rows.Head, oldest));
        }
    }

    /// <inheritdoc />
    public Task<int> TrimAsync(string log, DateTimeOffset appendedBefore, CancellationToken cancellationToken)
    {
        EventLogRules.ValidateLog(log);
        if (!_logs.TryGetValue(log, out var rows)) return Task.FromResult(0);

        lock (rows)
        {
            // Only a prefix goes, up to the first entry that is not old enough and never the head: what is kept stays
            // one unbroken run, so a reader can tell from Oldest whether it missed anything.
            var count = 0;
            while (count < rows.Entries.Count - 1 && rows.Entries[count].AppendedAt < appendedBefore) count++;
            rows.Entries.RemoveRange(0, count);
            return Task.FromResult(count);
        }
    }

    /// <inheritdoc />
    public IJobAvailabilitySubscription SubscribeLog(string log)
    {
        EventLogRules.ValidateLog(log);
        return _availability.Subscribe(EventLogRules.SignalKey(log));
    }

    /// <summary>One log; guarded by locking the instance.</summary>
    private sealed class LogRows
    {
        /// <summary>The last sequence handed out; it only grows, so sequences are never reused.</summary>
        public long Head;

        /// <summary>The kept entries, consecutive sequences in order, ending at <see cref="Head"/>.</summary>
        public readonly List<EventLogEntry> Entries = [];

        /// <summary>The sequence each key of a keyed append got; trims leave it, so a key refuses duplicates for good.</summary>
        public readonly Dictionary<string, long> SequencesByKey = new(StringComparer.Ordinal);

        public long Oldest => Entries.Count > 0 ? Entries[0].Sequence : Head + 1;

        /// <summary>Adds an entry at the next sequence and returns it; the caller holds the lock.</summary>
        public long Append(string payload, DateTimeOffset now)
        {
            Entries.Add(new EventLogEntry(++Head, payload, now));
            return Head;
        }
    }
}
