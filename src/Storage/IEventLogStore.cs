namespace Orleans.Jobs.Storage;

/// <summary>
/// Append-only logs with gap-free sequence numbers, for what readers must see in order and resume without missing an
/// entry after a reconnect (the finished-pipelines log). Entries of one log get consecutive sequences in commit order:
/// a reader that has seen sequence N and reads after N never skips one. Both job store providers implement it.
/// </summary>
public interface IEventLogStore
{
    /// <summary>Appends entries to <paramref name="log"/>, all or none; returns their sequence numbers in order (from 1 for a new log).</summary>
    Task<IReadOnlyList<long>> AppendAsync(string log, IReadOnlyList<string> payloads, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>
    /// Appends each entry whose key is not yet in the log (all new entries or none, gap-free, in the given order);
    /// an entry whose key is already there — from an earlier call, or earlier in this call — adds nothing and reports the
    /// sequence that key got. Keys outlive <see cref="TrimAsync"/>, so a trimmed entry's key still refuses a duplicate.
    /// Subscribers are signalled only when something was added. Safe for appenders on several silos at once.
    /// </summary>
    /// <returns>One result per entry, in the given order.</returns>
    Task<IReadOnlyList<KeyedAppendResult>> AppendOnceAsync(string log, IReadOnlyList<KeyedLogEntry> entries, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Returns up to <paramref name="max"/> entries after sequence <paramref name="after"/>, oldest first, with the log's head and oldest kept sequence.</summary>
    Task<EventLogPage> ReadAsync(string log, long after, int max, CancellationToken cancellationToken);

    /// <summary>Deletes entries appended before <paramref name="appendedBefore"/>, never the head; returns how many. Sequences are never reused.</summary>
    Task<int> TrimAsync(string log, DateTimeOffset appendedBefore, CancellationToken cancellationToken);

    /// <summary>Subscribes to "entries were appended" signals for <paramref name="log"/>. Subscribe before reading so an append in between is not missed.</summary>
    IJobAvailabilitySubscription SubscribeLog(string log);
}

/// <summary>One entry of a log.</summary>
public sealed record EventLogEntry(long Sequence, string Payload, DateTimeOffset AppendedAt);

/// <summary>An entry to append once: <paramref name="Key"/> says which entries are the same (a fork's id, say), whatever their payloads.</summary>
public sealed record KeyedLogEntry(string Key, string Payload);

/// <summary>What became of one <see cref="KeyedLogEntry"/>.</summary>
/// <param name="Sequence">The entry's sequence: new, or the one its key got earlier.</param>
/// <param name="Added">False when the key was already there, so nothing was added for this entry.</param>
public sealed record KeyedAppendResult(long Sequence, bool Added);

/// <summary>A page of a log.</summary>
/// <param name="Entries">The entries read, oldest first.</param>
/// <param name="Head">The log's newest sequence when read; 0 for an empty log.</param>
/// <param name="Oldest">The oldest sequence still kept (Head + 1 when none is kept); a reader that saw less than Oldest - 1 missed trimmed entries.</param>
public sealed record EventLogPage(IReadOnlyList<EventLogEntry> Entries, long Head, long Oldest);
