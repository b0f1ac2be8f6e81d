using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Text;
using System.Text.RegularExpressions;
using Orleans.Jobs.Grains.Interfaces;

namespace Orleans.Jobs.Storage;

/// <summary>The input rules of <see cref="IEventLogStore"/>, which every provider applies the same way before it writes anything.</summary>
public static partial class EventLogRules
{
    /// <summary>The longest log name.</summary>
    public const int MaxLogNameLength = 128;

    /// <summary>The most entries one append may add.</summary>
    public const int MaxAppendCount = QueueLimits.MaxBatchSize;

    /// <summary>The longest key of a keyed entry.</summary>
    public const int MaxKeyLength = 256;

    /// <summary>The most entries one read may return.</summary>
    public const int MaxReadCount = 10_000;

    /// <summary>
    /// The key a log's signals travel under, through the store's availability broadcaster and NOTIFY. '#' is not
    /// allowed in queue names, so a log never wakes the waiters of a queue of the same name.
    /// </summary>
    public static string SignalKey(string log) => "#" + log;

    /// <summary>Checks a log name: 1 to 128 characters from A-Z, a-z, 0-9, '.', '_', ':' and '-'.</summary>
    /// <exception cref="ArgumentException">The name breaks the rule.</exception>
    public static void ValidateLog(string? log, string paramName = "log")
    {
        if (log is null || !LogNamePattern().IsMatch(log))
            throw new ArgumentException($"Log name '{log}' is invalid: use 1 to {MaxLogNameLength} characters from A-Z, a-z, 0-9, '.', '_', ':' and '-'.", paramName);
    }

    /// <summary>Checks an append: a valid log name, and 0 to <see cref="MaxAppendCount"/> payloads that each pass <see cref="QueueLimits.ValidatePayload"/>.</summary>
    /// <exception cref="ArgumentException">The append breaks a rule; the parameter name says which entry (payloads[i]).</exception>
    public static void ValidateAppend(string? log, IReadOnlyList<string>? payloads)
    {
        ValidateLog(log);
        ValidateAppendCount(payloads, nameof(payloads));
        for (var i = 0; i < payloads.Count; i++)
            QueueLimits.ValidatePayload(payloads[i], $"payloads[{i}]");
    }

    /// <summary>
    /// Checks a keyed append: a valid log name, and 0 to <see cref="MaxAppendCount"/> entries, each with a valid key
    /// (<see cref="ValidateKey"/>) and a payload that passes <see cref="QueueLimits.ValidatePayload"/>.
    /// </summary>
    /// <exception cref="ArgumentException">The append breaks a rule; the parameter name says which entry and field (entries[i].Key).</exception>
    public static void ValidateAppendOnce(string? log, IReadOnlyList<KeyedLogEntry?>? entries)
    {
        ValidateLog(log);
        ValidateAppendCount(entries, nameof(entries));
        for (var i = 0; i < entries.Count; i++)
        {
            var entry = entries[i] ?? throw new ArgumentNullException($"entries[{i}]", "A keyed entry must not be null.");
            ValidateKey(entry.Key, $"entries[{i}].Key");
            QueueLimits.ValidatePayload(entry.Payload, $"entries[{i}].Payload");
        }
    }

    /// <summary>
    /// Checks the key of a keyed entry: 1 to <see cref="MaxKeyLength"/> characters of valid text (no unpaired UTF-16
    /// surrogate, which PostgreSQL cannot store) with no control characters, NUL included.
    /// </summary>
    /// <exception cref="ArgumentException">The key breaks the rule; the message names <paramref name="paramName"/> and the rule.</exception>
    public static void ValidateKey(string? key, string paramName = "key")
    {
        if (key is null)
            throw new ArgumentNullException(paramName, $"The {paramName} must not be null: a key is 1 to {MaxKeyLength} characters.");
        if (key.Length is 0 or > MaxKeyLength)
            throw new ArgumentException($"The {paramName} is {key.Length} characters long; a key is 1 to {MaxKeyLength} characters.", paramName);

        for (var position = 0; position < key.Length;)
        {
            if (Rune.DecodeFromUtf16(key.AsSpan(position), out var rune, out var length) != OperationStatus.Done)
                throw new ArgumentException($"The {paramName} has an unpaired UTF-16 surrogate at position {position}; a key must be valid text.", paramName);
            if (Rune.IsControl(rune))
                throw new ArgumentException($"The {paramName} has the control character U+{rune.Value:X4} at position {position}; a key must not hold control characters (NUL included).", paramName);
            position += length;
        }
    }

    /// <summary>Checks a read: a valid log name, <paramref name="after"/> at least 0, <paramref name="max"/> from 1 to <see cref="MaxReadCount"/>.</summary>
    /// <exception cref="ArgumentException">The read breaks a rule; the message names the parameter.</exception>
    public static void ValidateRead(string? log, long after, int max)
    {
        ValidateLog(log);
        if (after < 0)
            throw new ArgumentOutOfRangeException(nameof(after), after, "after must be 0 (read from the start) or a sequence number.");
        if (max is < 1 or > MaxReadCount)
            throw new ArgumentOutOfRangeException(nameof(max), max, $"max must be between 1 and {MaxReadCount}.");
    }

    private static void ValidateAppendCount<T>([NotNull] IReadOnlyList<T>? items, string paramName)
    {
        ArgumentNullException.ThrowIfNull(items, paramName);
        if (items.Count > MaxAppendCount)
            throw new ArgumentException($"An append holds {items.Count} {paramName}; the limit is {MaxAppendCount}.", paramName);
    }

    [GeneratedRegex("^[A-Za-z0-9._:-]{1,128}\\z")]
    private static partial Regex LogNamePattern();
}
