using System.Text.RegularExpressions;

namespace Orleans.Jobs.Grains.Interfaces.WorkStreams;

/// <summary>
/// What a work stream accepts. Clients check before sending and the grain checks again before changing anything, so
/// a refused request leaves the stream as it was; every message names the property or field and its range.
/// </summary>
public static partial class WorkStreamRules
{
    /// <summary>The fewest workers per second a node may be told to start.</summary>
    public const double MinSpawnFrequency = 0.01;

    /// <summary>The most workers per second a node may be told to start.</summary>
    public const double MaxSpawnFrequency = 1_000;

    /// <summary>The most workers one node may run for one stream.</summary>
    public const int MaxWorkersPerNodeLimit = 256;

    /// <summary>The longest delay a fork may have.</summary>
    public static readonly TimeSpan MaxJobDelay = TimeSpan.FromDays(1);

    /// <summary>The shortest idle timeout.</summary>
    public static readonly TimeSpan MinIdleTimeout = TimeSpan.FromSeconds(1);

    /// <summary>The longest idle timeout.</summary>
    public static readonly TimeSpan MaxIdleTimeout = TimeSpan.FromDays(7);

    /// <summary>The most runs a fork may get.</summary>
    public const int MaxAttemptsLimit = 100;

    /// <summary>The most stages a stream may have.</summary>
    public const int MaxStages = 32;

    /// <summary>The most forks one <see cref="IWorkStreamGrain.ForkAsync"/> call may carry.</summary>
    public const int MaxForkBatch = 1_000;

    /// <summary>The queue a stream's forks wait in.</summary>
    public static string Queue(string streamId) => "stream:" + streamId;

    /// <summary>The event log a stage's results arrive in (one entry per fork, keyed by the fork's key).</summary>
    public static string ResultLog(string streamId, string stage) => $"stream:{streamId}:{stage}";

    /// <summary>The key of the <paramref name="ordinal"/>th fork a stage made (from 0): forks are matched by their order.</summary>
    public static string ForkKey(string stage, long ordinal) => $"{stage}/{ordinal}";

    /// <summary>Checks a stream id (Impetus' client id): 1 to 64 characters from A-Z, a-z, 0-9, '-' and '_'.</summary>
    /// <exception cref="ArgumentException">It breaks the rule.</exception>
    public static void ValidateStreamId(string? streamId, string paramName = "streamId")
    {
        if (streamId is null || !StreamIdPattern().IsMatch(streamId))
            throw new ArgumentException($"Stream id '{Shorten(streamId)}' is invalid: use 1 to 64 characters from A-Z, a-z, 0-9, '-' and '_' (a GUID works).", paramName);
    }

    /// <summary>Checks a stage name: a letter or '_', then letters, digits or '_', at most 48 characters.</summary>
    /// <exception cref="ArgumentException">It breaks the rule.</exception>
    public static void ValidateStageName(string? stage, string paramName = "stage")
    {
        if (stage is null || !StageNamePattern().IsMatch(stage))
            throw new ArgumentException($"Stage name '{Shorten(stage)}' is invalid: use a letter or '_' followed by letters, digits or '_', at most 48 characters.", paramName);
    }

    /// <summary>Checks a stream's stages: 1 to <see cref="MaxStages"/> valid, distinct names.</summary>
    /// <exception cref="ArgumentException">They break a rule.</exception>
    public static void ValidateStages(IReadOnlyList<string>? stages, string paramName = "stages")
    {
        if (stages is null || stages.Count == 0 || stages.Count > MaxStages)
            throw new ArgumentException($"A stream has 1 to {MaxStages} stages; {(stages is null ? "none were" : $"{stages.Count} were")} given.", paramName);
        for (var i = 0; i < stages.Count; i++) ValidateStageName(stages[i], $"{paramName}[{i}]");
        var repeated = stages.GroupBy(s => s, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (repeated is not null)
            throw new ArgumentException($"Stage '{repeated.Key}' is named twice: stage names are unique in a stream.", paramName);
    }

    /// <summary>Checks every property against its range.</summary>
    /// <exception cref="ArgumentException">A property is out of its range (or NaN); the message names it and the range.</exception>
    public static void Validate(WorkStreamProperties? properties, string paramName = "properties")
    {
        ArgumentNullException.ThrowIfNull(properties, paramName);
        if (!(properties.SpawnFrequency >= MinSpawnFrequency && properties.SpawnFrequency <= MaxSpawnFrequency))
            throw new ArgumentOutOfRangeException(nameof(properties.SpawnFrequency), properties.SpawnFrequency,
                $"SpawnFrequency is {properties.SpawnFrequency}: it must be between {MinSpawnFrequency} and {MaxSpawnFrequency} workers per second.");
        Check(properties.MaxWorkersPerNode, 1, MaxWorkersPerNodeLimit, nameof(properties.MaxWorkersPerNode), "workers");
        Check(properties.JobDelay, TimeSpan.Zero, MaxJobDelay, nameof(properties.JobDelay), "");
        Check(properties.JobPriority, QueueLimits.MinPriority, QueueLimits.MaxPriority, nameof(properties.JobPriority), "");
        Check(properties.IdleTimeout, MinIdleTimeout, MaxIdleTimeout, nameof(properties.IdleTimeout), "");
        Check(properties.MaxAttempts, 1, MaxAttemptsLimit, nameof(properties.MaxAttempts), "runs");
        if (!Enum.IsDefined(properties.Isolation))
            throw new ArgumentOutOfRangeException(nameof(properties.Isolation), properties.Isolation,
                $"Isolation is {(int)properties.Isolation}: it must be {WorkerIsolation.InSilo} or {WorkerIsolation.Process}.");
    }

    /// <summary>Checks a fork's own delay and priority, when it gives them.</summary>
    /// <exception cref="ArgumentException">One is out of range; the message names it.</exception>
    public static void ValidateForkOverrides(TimeSpan? delay, int? priority, string paramName)
    {
        if (delay is { } d) Check(d, TimeSpan.Zero, MaxJobDelay, $"{paramName}.Delay", "");
        if (priority is { } p) Check(p, QueueLimits.MinPriority, QueueLimits.MaxPriority, $"{paramName}.Priority", "");
    }

    private static void Check<T>(T value, T min, T max, string name, string unit) where T : IComparable<T>
    {
        if (value.CompareTo(min) < 0 || value.CompareTo(max) > 0)
            throw new ArgumentOutOfRangeException(name, value, $"{name} is {value}: it must be between {min} and {max}{(unit.Length > 0 ? " " + unit : "")}.");
    }

    private static string Shorten(string? text) => text is null ? "(null)" : text.Length > 80 ? text[..80] + "…" : text;

    [GeneratedRegex("^[A-Za-z0-9_-]{1,64}\\z")]
    private static partial Regex StreamIdPattern();

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]{0,47}\\z")]
    private static partial Regex StageNamePattern();
}
