using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using Orleans;

namespace Orleans.Jobs.Grains.Interfaces;

/// <summary>Options of a single send or expedite.</summary>
[GenerateSerializer, Alias("jobs.SendOptions")]
public sealed record SendOptions
{
    /// <summary>Higher runs first. Must be between <see cref="QueueLimits.MinPriority"/> and <see cref="QueueLimits.MaxPriority"/>.</summary>
    [Id(0)]
    public int Priority { get; init; }

    /// <summary>The job becomes claimable after this delay; null or zero: at once.</summary>
    [Id(1)]
    public TimeSpan? Delay { get; init; }

    /// <summary>Overrides the queue's <see cref="QueueSettings.MaxAttempts"/> for this job.</summary>
    [Id(2)]
    public int? MaxAttempts { get; init; }
}

/// <summary>One job of a batch send.</summary>
/// <param name="Payload">The job's data.</param>
/// <param name="Options">Its options; null for defaults.</param>
/// <param name="Expedite">True to put it at the front of the queue.</param>
[GenerateSerializer, Immutable, Alias("jobs.JobMessage")]
public sealed record JobMessage([property: Id(0)] string Payload, [property: Id(1)] SendOptions? Options = null, [property: Id(2)] bool Expedite = false);

/// <summary>How to claim jobs.</summary>
[GenerateSerializer, Alias("jobs.ClaimOptions")]
public sealed record ClaimOptions
{
    /// <summary>The most jobs to claim at once (batch claim).</summary>
    [Id(0)]
    public int MaxJobs { get; init; } = 1;

    /// <summary>
    /// Monitored claims (the default) hold a lease that the claimer must renew; a job whose lease expires comes back.
    /// Unmonitored claims take no lease: if the claimer dies, the job is not redone.
    /// </summary>
    [Id(1)]
    public bool Monitored { get; init; } = true;

    /// <summary>The lease length for monitored claims; null uses the queue's <see cref="QueueSettings.LeaseDuration"/>.</summary>
    [Id(2)]
    public TimeSpan? LeaseDuration { get; init; }

    /// <summary>Who claims, for recovery and inspection: a silo id or a client id (<see cref="QueueLimits.ValidateOwner"/>).</summary>
    [Id(3)]
    public string Owner { get; init; } = "anonymous";

    /// <summary>The node the claimer runs on. Required to claim from a node-local queue, which only its own node may claim.</summary>
    [Id(4)]
    public string? Node { get; init; }

    /// <summary>
    /// An id the claimer chooses for this claim, recorded on the jobs it takes; null lets the queue choose one. A
    /// claimer that keeps it can get back what a failed claim took with <see cref="Resume"/>.
    /// </summary>
    [Id(5)]
    public Guid? ClaimId { get; init; }

    /// <summary>
    /// True to repeat a claim that failed without an answer (a lost reply, a timeout, a dropped connection), under the
    /// same <see cref="ClaimId"/>: if that claim took jobs after all, they are returned (at most
    /// <see cref="MaxJobs"/>, leases renewed, attempts not counted again; any beyond are given back) instead of staying
    /// leased to nobody until their leases run out. If it took none, this claims as usual.
    /// </summary>
    [Id(6)]
    public bool Resume { get; init; }
}

/// <summary>
/// The persistent settings of a queue. <see cref="IQueueGrain.ConfigureAsync"/> replaces all of them, so JSON callers
/// (the HTTP gateway) must send every one; <see cref="QueueSettingsChanges"/> changes some.
/// </summary>
[GenerateSerializer, Alias("jobs.QueueSettings")]
public sealed record QueueSettings
{
    /// <summary>How many times a job may be tried before it is dead-lettered.</summary>
    [Id(0), JsonRequired]
    public int MaxAttempts { get; init; } = QueueLimits.DefaultMaxAttempts;

    /// <summary>The lease of a monitored claim; claimers renew it about three times per lease.</summary>
    [Id(1), JsonRequired]
    public TimeSpan LeaseDuration { get; init; } = QueueLimits.DefaultLeaseDuration;

    /// <summary>The delay before the first retry of a failed job; it doubles per attempt.</summary>
    [Id(2), JsonRequired]
    public TimeSpan RetryDelay { get; init; } = QueueLimits.DefaultRetryDelay;

    /// <summary>The longest delay between retries.</summary>
    [Id(3), JsonRequired]
    public TimeSpan MaxRetryDelay { get; init; } = QueueLimits.DefaultMaxRetryDelay;

    /// <summary>How often the queue's monitor looks for expired leases and prunes finished jobs.</summary>
    [Id(4), JsonRequired]
    public TimeSpan MonitorPeriod { get; init; } = QueueLimits.DefaultMonitorPeriod;

    /// <summary>How long completed jobs (and their results) are kept.</summary>
    [Id(5), JsonRequired]
    public TimeSpan CompletedRetention { get; init; } = QueueLimits.DefaultCompletedRetention;

    /// <summary>How long dead-lettered jobs are kept for inspection and requeue.</summary>
    [Id(6), JsonRequired]
    public TimeSpan DeadLetterRetention { get; init; } = QueueLimits.DefaultDeadLetterRetention;

    /// <summary>
    /// How much a failed job's priority drops for its retry (0: it keeps its priority). A drop as large as the
    /// priority range puts every retry behind all fresh work — workerbee's "failures are retried after all
    /// unclaimed work"; priorities never go below <see cref="QueueLimits.MinPriority"/>.
    /// </summary>
    [Id(7), JsonRequired]
    public int RetryPriorityDrop { get; init; }

    /// <summary>Applies <paramref name="changes"/>: only the settings they name change.</summary>
    public QueueSettings With(QueueSettingsChanges changes)
    {
        ArgumentNullException.ThrowIfNull(changes);
        return new QueueSettings
        {
            MaxAttempts = changes.MaxAttempts ?? MaxAttempts,
            LeaseDuration = changes.LeaseDuration ?? LeaseDuration,
            RetryDelay = changes.RetryDelay ?? RetryDelay,
            MaxRetryDelay = changes.MaxRetryDelay ?? MaxRetryDelay,
            MonitorPeriod = changes.MonitorPeriod ?? MonitorPeriod,
            CompletedRetention = changes.CompletedRetention ?? CompletedRetention,
            DeadLetterRetention = changes.DeadLetterRetention ?? DeadLetterRetention,
            RetryPriorityDrop = changes.RetryPriorityDrop ?? RetryPriorityDrop,
        };
    }

    /// <summary>Checks every setting; throws naming the first that is out of range.</summary>
    /// <exception cref="ArgumentException">A setting is out of range.</exception>
    public void Validate()
    {
        QueueLimits.CheckRange(MaxAttempts, 1, QueueLimits.MaxMaxAttempts, nameof(MaxAttempts));
        QueueLimits.CheckRange(LeaseDuration, QueueLimits.MinLeaseDuration, QueueLimits.MaxLeaseDuration, nameof(LeaseDuration));
        QueueLimits.CheckRange(RetryDelay, TimeSpan.Zero, QueueLimits.MaxRetryDelayLimit, nameof(RetryDelay));
        QueueLimits.CheckRange(MaxRetryDelay, RetryDelay, QueueLimits.MaxRetryDelayLimit, nameof(MaxRetryDelay));
        QueueLimits.CheckRange(MonitorPeriod, QueueLimits.MinMonitorPeriod, QueueLimits.MaxLeaseDuration, nameof(MonitorPeriod));
        QueueLimits.CheckRange(CompletedRetention, TimeSpan.Zero, QueueLimits.MaxRetention, nameof(CompletedRetention));
        QueueLimits.CheckRange(DeadLetterRetention, TimeSpan.Zero, QueueLimits.MaxRetention, nameof(DeadLetterRetention));
        QueueLimits.CheckRange(RetryPriorityDrop, 0, QueueLimits.MaxPriority - QueueLimits.MinPriority, nameof(RetryPriorityDrop));
    }
}

/// <summary>A change of some settings of a queue: null leaves a setting as it is.</summary>
[GenerateSerializer, Immutable, Alias("jobs.QueueSettingsChanges")]
public sealed record QueueSettingsChanges
{
    /// <inheritdoc cref="QueueSettings.MaxAttempts"/>
    [Id(0)] public int? MaxAttempts { get; init; }

    /// <inheritdoc cref="QueueSettings.LeaseDuration"/>
    [Id(1)] public TimeSpan? LeaseDuration { get; init; }

    /// <inheritdoc cref="QueueSettings.RetryDelay"/>
    [Id(2)] public TimeSpan? RetryDelay { get; init; }

    /// <inheritdoc cref="QueueSettings.MaxRetryDelay"/>
    [Id(3)] public TimeSpan? MaxRetryDelay { get; init; }

    /// <inheritdoc cref="QueueSettings.MonitorPeriod"/>
    [Id(4)] public TimeSpan? MonitorPeriod { get; init; }

    /// <inheritdoc cref="QueueSettings.CompletedRetention"/>
    [Id(5)] public TimeSpan? CompletedRetention { get; init; }

    /// <inheritdoc cref="QueueSettings.DeadLetterRetention"/>
    [Id(6)] public TimeSpan? DeadLetterRetention { get; init; }

    /// <inheritdoc cref="QueueSettings.RetryPriorityDrop"/>
    [Id(7)] public int? RetryPriorityDrop { get; init; }
}

/// <summary>
/// The rules and defaults of queues, in one place: names (<see cref="MaxQueueNameLength"/>, <see cref="MaxNodeNameLength"/>,
/// <see cref="MaxQueueKeyLength"/>), owners, payloads, batches, priorities, attempts, delays, leases and retention.
/// </summary>
public static partial class QueueLimits
{
    /// <summary>The longest queue name, without its node.</summary>
    public const int MaxQueueNameLength = 128;

    /// <summary>The longest node name.</summary>
    public const int MaxNodeNameLength = 128;

    /// <summary>The longest full queue name, <c>queue@node</c>: the longest grain key a queue ever has.</summary>
    public const int MaxQueueKeyLength = MaxQueueNameLength + 1 + MaxNodeNameLength;

    /// <summary>The longest claim owner.</summary>
    public const int MaxOwnerLength = 128;

    /// <summary>How much of a caller's value an error message repeats; the rest is summarised by its length.</summary>
    public const int MaxEchoLength = 100;

    /// <summary>The largest payload, in UTF-8 bytes.</summary>
    public const int MaxPayloadBytes = 1024 * 1024;

    /// <summary>The most jobs in one batch send.</summary>
    public const int MaxBatchSize = 10_000;

    /// <summary>The most job ids one dead-letter purge may name.</summary>
    public const int MaxPurgeJobIds = 10_000;

    /// <summary>The most jobs in one claim.</summary>
    public const int MaxClaimBatch = 1_000;

    /// <summary>The most jobs in one page of a listing.</summary>
    public const int MaxListPage = 1_000;

    /// <summary>The most dead letters one listing returns.</summary>
    public const int MaxDeadLetterListLimit = 1_000;

    /// <summary>The lowest priority.</summary>
    public const int MinPriority = -1_000_000;

    /// <summary>The highest priority.</summary>
    public const int MaxPriority = 1_000_000;

    /// <summary>Default <see cref="QueueSettings.MaxAttempts"/>.</summary>
    public const int DefaultMaxAttempts = 5;

    /// <summary>The highest <see cref="QueueSettings.MaxAttempts"/>.</summary>
    public const int MaxMaxAttempts = 1_000;

    /// <summary>The longest a job may be delayed.</summary>
    public static readonly TimeSpan MaxDelay = TimeSpan.FromDays(365);

    /// <summary>
    /// The response timeout of a wait call: longer than <see cref="MaxWait"/>, so a wait ends by its own timeout, not
    /// by Orleans' 30 s default.
    /// </summary>
    public const string WaitResponseTimeout = "00:05:30";

    /// <summary>The longest a single wait may block.</summary>
    public static readonly TimeSpan MaxWait = TimeSpan.FromMinutes(5);

    /// <summary>Default <see cref="QueueSettings.LeaseDuration"/>.</summary>
    public static readonly TimeSpan DefaultLeaseDuration = TimeSpan.FromSeconds(30);

    /// <summary>The shortest lease.</summary>
    public static readonly TimeSpan MinLeaseDuration = TimeSpan.FromMilliseconds(100);

    /// <summary>The longest lease.</summary>
    public static readonly TimeSpan MaxLeaseDuration = TimeSpan.FromHours(24);

    /// <summary>Default <see cref="QueueSettings.RetryDelay"/>.</summary>
    public static readonly TimeSpan DefaultRetryDelay = TimeSpan.FromSeconds(1);

    /// <summary>Default <see cref="QueueSettings.MaxRetryDelay"/>.</summary>
    public static readonly TimeSpan DefaultMaxRetryDelay = TimeSpan.FromMinutes(5);

    /// <summary>The longest retry delay that may be configured.</summary>
    public static readonly TimeSpan MaxRetryDelayLimit = TimeSpan.FromDays(7);

    /// <summary>Default <see cref="QueueSettings.MonitorPeriod"/>.</summary>
    public static readonly TimeSpan DefaultMonitorPeriod = TimeSpan.FromSeconds(5);

    /// <summary>Default <see cref="QueueSettings.CompletedRetention"/>.</summary>
    public static readonly TimeSpan DefaultCompletedRetention = TimeSpan.FromDays(7);

    /// <summary>Default <see cref="QueueSettings.DeadLetterRetention"/>.</summary>
    public static readonly TimeSpan DefaultDeadLetterRetention = TimeSpan.FromDays(30);

    /// <summary>The longest retention.</summary>
    public static readonly TimeSpan MaxRetention = TimeSpan.FromDays(3650);

    /// <summary>The shortest monitor period.</summary>
    public static readonly TimeSpan MinMonitorPeriod = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Checks a queue name: 1 to 128 of A-Z, a-z, 0-9, '.', '_', ':' and '-', optionally followed by '@' and a node
    /// name (a node-local queue, see <see cref="QueueName"/>).
    /// </summary>
    /// <exception cref="ArgumentException">The name breaks the rule.</exception>
    public static void ValidateQueueName(string? queue, string paramName = "queue")
    {
        if (queue is null || !QueueNamePattern().IsMatch(queue))
            throw new ArgumentException($"Queue name {Echo(queue)} is invalid: use 1 to {MaxQueueNameLength} characters from A-Z, a-z, 0-9, '.', '_', ':' and '-', optionally followed by '@' and a node name of 1 to {MaxNodeNameLength} such characters (no ':') for a node-local queue.", paramName);
    }

    /// <summary>Checks a node name: 1 to <see cref="MaxNodeNameLength"/> of A-Z, a-z, 0-9, '.', '_' and '-'.</summary>
    /// <exception cref="ArgumentException">The name breaks the rule.</exception>
    public static void ValidateNodeName(string? node, string paramName = "node")
    {
        if (node is null || !NodeNamePattern().IsMatch(node))
            throw new ArgumentException($"Node name {Echo(node)} is invalid: use 1 to {MaxNodeNameLength} characters from A-Z, a-z, 0-9, '.', '_' and '-'.", paramName);
    }

    /// <summary>Checks a claim owner: 1 to <see cref="MaxOwnerLength"/> characters, not blank, and no control characters (NUL included), which no store keeps and no log shows.</summary>
    /// <exception cref="ArgumentException">The owner breaks the rule.</exception>
    public static void ValidateOwner(string? owner, string paramName = "Owner")
    {
        if (string.IsNullOrWhiteSpace(owner) || owner.Length > MaxOwnerLength)
            throw new ArgumentException($"{paramName} must be 1 to {MaxOwnerLength} characters and not blank (was {Echo(owner)}).", paramName);
        if (IndexOfControl(owner) is var control and >= 0)
            throw new ArgumentException($"{paramName} has control character U+{(int)owner[control]:X4} at position {control}: an owner is printable text.", paramName);
    }

    /// <summary>The position of the first control character (C0, DEL or C1, NUL included) in <paramref name="text"/>, or -1.</summary>
    public static int IndexOfControl(string text)
    {
        for (var i = 0; i < text.Length; i++)
            if (char.IsControl(text[i])) return i;
        return -1;
    }

    /// <summary>
    /// A caller's value as an error message repeats it: quoted, at most <see cref="MaxEchoLength"/> characters, with
    /// its full length noted when cut, so a huge input never comes back in a huge error.
    /// </summary>
    public static string Echo(string? value) => value is null ? "(null)" : $"'{Shorten(value)}'";

    /// <summary><paramref name="value"/> cut to <see cref="MaxEchoLength"/> characters, its full length noted when cut.</summary>
    public static string Shorten(string value) =>
        value.Length <= MaxEchoLength ? value : $"{value[..MaxEchoLength]}… ({value.Length} characters)";

    /// <summary>
    /// Checks a payload or result: present, at most <see cref="MaxPayloadBytes"/> UTF-8 bytes, and text every store
    /// can keep — no NUL characters and no unpaired surrogates.
    /// </summary>
    /// <exception cref="ArgumentException">The text breaks the rule.</exception>
    public static void ValidatePayload(string? payload, string paramName = "payload")
    {
        if (payload is null)
            throw new ArgumentNullException(paramName, "A job payload must not be null (use an empty string for no data).");
        if (FindInvalidText(payload) is { } index)
            throw new ArgumentException($"The {paramName} has {(payload[index] == '\0' ? "a NUL character" : "an unpaired UTF-16 surrogate")} at position {index}; it must be valid text without NUL (encode binary data, e.g. as base64).", paramName);
        // Cheap bound first: UTF-8 never uses more than 3 bytes per UTF-16 char.
        if (payload.Length * 3L > MaxPayloadBytes && System.Text.Encoding.UTF8.GetByteCount(payload) is var bytes && bytes > MaxPayloadBytes)
            throw new ArgumentException($"The {paramName} is {bytes} bytes of UTF-8; the limit is {MaxPayloadBytes}. Store large data elsewhere and send a reference.", paramName);
    }

    /// <summary>Replaces what <see cref="ValidatePayload"/> would reject with U+FFFD: for text the runtime records on its own, such as error messages.</summary>
    public static string SanitizeText(string text)
    {
        if (FindInvalidText(text) is null) return text;
        var chars = text.ToCharArray();
        for (var i = 0; i < chars.Length; i++)
        {
            if (chars[i] == '\0') chars[i] = '\uFFFD';
            else if (char.IsHighSurrogate(chars[i]) && i + 1 < chars.Length && char.IsLowSurrogate(chars[i + 1])) i++;
            else if (char.IsSurrogate(chars[i])) chars[i] = '\uFFFD';
        }

        return new string(chars);
    }

    private static int? FindInvalidText(string text)
    {
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c == '\0') return i;
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1])) { i++; continue; }
            if (char.IsSurrogate(c)) return i;
        }

        return null;
    }

    /// <summary>
    /// Checks the ids a dead-letter purge names: null (every dead letter of the queue), or 1 to
    /// <see cref="MaxPurgeJobIds"/> positive ids. An empty list is refused rather than read as "all" or "none", so a
    /// caller that built an empty selection learns of it instead of purging something it did not name.
    /// </summary>
    /// <exception cref="ArgumentException">The list breaks the rule; the message names the field.</exception>
    public static void ValidatePurgeJobIds(IReadOnlyList<long>? jobIds, string paramName = "jobIds")
    {
        if (jobIds is null) return;
        if (jobIds.Count is 0 or > MaxPurgeJobIds)
            throw new ArgumentException($"{paramName} must be null (every dead letter of the queue) or list 1 to {MaxPurgeJobIds} job ids; it lists {jobIds.Count}.", paramName);
        for (var i = 0; i < jobIds.Count; i++)
            if (jobIds[i] <= 0)
                throw new ArgumentOutOfRangeException(paramName, jobIds[i], $"{paramName}[{i}] is {jobIds[i]}: job ids are positive numbers.");
    }

    /// <summary>Checks that <paramref name="value"/> lies between <paramref name="min"/> and <paramref name="max"/>; the message names the field and the range.</summary>
    /// <exception cref="ArgumentOutOfRangeException">It does not.</exception>
    public static void CheckRange<T>(T value, T min, T max, string name) where T : IComparable<T>
    {
        if (value.CompareTo(min) < 0 || value.CompareTo(max) > 0)
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be between {min} and {max}.");
    }

    // 128 = MaxQueueNameLength and MaxNodeNameLength (a pattern must be a constant). \z, not $: $ also matches before
    // a final newline, which let "node\n" through.
    [GeneratedRegex("^[A-Za-z0-9._:-]{1,128}(@[A-Za-z0-9._-]{1,128})?\\z")]
    private static partial Regex QueueNamePattern();

    [GeneratedRegex("^[A-Za-z0-9._-]{1,128}\\z")]
    private static partial Regex NodeNamePattern();
}
