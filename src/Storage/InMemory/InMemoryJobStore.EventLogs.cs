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
            {
                sequences[i] = ++rows.Head;
                rows.Entries.Add(new EventLogEntry(sequences[i], payloads[i], now));
            }
        }

        _availability.Signal(EventLogRules.SignalKey(log));
        return Task.FromResult<IReadOnlyList<long>>(sequences);
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

        public long Oldest => Entries.Count > 0 ? Entries[0].Sequence : Head + 1;
    }
}
