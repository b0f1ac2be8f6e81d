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
        ArgumentNullException.ThrowIfNull(payloads);
        if (payloads.Count > MaxAppendCount)
            throw new ArgumentException($"An append holds {payloads.Count} payloads; the limit is {MaxAppendCount}.", nameof(payloads));
        for (var i = 0; i < payloads.Count; i++)
            QueueLimits.ValidatePayload(payloads[i], $"payloads[{i}]");
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

    [GeneratedRegex("^[A-Za-z0-9._:-]{1,128}$")]
    private static partial Regex LogNamePattern();
}
