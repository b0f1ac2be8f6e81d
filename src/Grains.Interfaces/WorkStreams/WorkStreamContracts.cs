using System.Text.Json.Serialization;
using Orleans.Jobs.Grains.Interfaces.Code;

namespace Orleans.Jobs.Grains.Interfaces.WorkStreams;

/// <summary>What a client opens a stream with.</summary>
/// <param name="Stages">The client's stages in order: the startup stage first, then its process stages. A fork's callback is a later stage.</param>
/// <param name="Properties">The stream's properties.</param>
[GenerateSerializer, Immutable, Alias("jobs.WorkStreamDefinition")]
public sealed record WorkStreamDefinition(
    [property: Id(0)] IReadOnlyList<string> Stages,
    [property: Id(1)] WorkStreamProperties Properties);

/// <summary>A stream as the grain holds it.</summary>
/// <param name="Id">The stream's id (Impetus' client id).</param>
/// <param name="Stages">Its stages in order.</param>
/// <param name="Properties">Its properties now.</param>
/// <param name="OpenedAt">When it was first opened.</param>
/// <param name="Created">True when this call created it; false when it reattached to an existing stream.</param>
/// <param name="Closed">True once closed: no more forks.</param>
[GenerateSerializer, Immutable, Alias("jobs.WorkStreamInfo")]
public sealed record WorkStreamInfo(
    [property: Id(0)] string Id,
    [property: Id(1)] IReadOnlyList<string> Stages,
    [property: Id(2)] WorkStreamProperties Properties,
    [property: Id(3)] DateTimeOffset OpenedAt,
    [property: Id(4)] bool Created,
    [property: Id(5)] bool Closed);

/// <summary>One fork: run a posted function with arguments, and hand its record to a later stage.</summary>
/// <param name="Name">A short name for records and progress (Impetus' job name, such as <c>pow</c>).</param>
/// <param name="Hash">The posted code holding the function (its SHA-256).</param>
/// <param name="Function">The public static function, <c>Namespace.Type.Method</c>.</param>
/// <param name="Args">The arguments as JSON.</param>
/// <param name="Callback">The stage that receives the record.</param>
/// <param name="Delay">How long it waits before it may run; null for the stream's <see cref="WorkStreamProperties.JobDelay"/>.</param>
/// <param name="Priority">Its priority; null for the stream's <see cref="WorkStreamProperties.JobPriority"/>.</param>
[GenerateSerializer, Immutable, Alias("jobs.ForkRequest")]
public sealed record ForkRequest(
    [property: Id(0)] string Name,
    [property: Id(1)] string Hash,
    [property: Id(2)] string Function,
    [property: Id(3)] string Args,
    [property: Id(4)] string Callback,
    [property: Id(5)] TimeSpan? Delay = null,
    [property: Id(6)] int? Priority = null);

/// <summary>What a fork call did.</summary>
/// <param name="Added">Forks queued by this call.</param>
/// <param name="Skipped">Forks already made under the same keys (a stage run again after a restart), not queued again.</param>
/// <param name="Forked">How many forks the stage has made in all.</param>
[GenerateSerializer, Immutable, Alias("jobs.ForkReceipt")]
public sealed record ForkReceipt([property: Id(0)] int Added, [property: Id(1)] int Skipped, [property: Id(2)] long Forked);

/// <summary>A fork as it travels in the stream's queue (Impetus' job): everything but its outcome.</summary>
[GenerateSerializer, Immutable, Alias("jobs.ForkJob")]
public sealed record ForkJob
{
    /// <summary>The fork's key, unique in its stream: <c>stage/ordinal</c>.</summary>
    [Id(0)] public required string Id { get; init; }

    /// <summary>The stream (Impetus' client id).</summary>
    [Id(1)] public required string Client { get; init; }

    /// <inheritdoc cref="ForkRequest.Name"/>
    [Id(2)] public required string Name { get; init; }

    /// <inheritdoc cref="ForkRequest.Function"/>
    [Id(3)] public required string Function { get; init; }

    /// <summary>The posted code's hash (Impetus' <c>code</c>).</summary>
    [Id(4)] public required string Code { get; init; }

    /// <inheritdoc cref="ForkRequest.Args"/>
    [Id(5)] public required string Args { get; init; }

    /// <summary>The stage that forked it.</summary>
    [Id(6)] public required string Stage { get; init; }

    /// <inheritdoc cref="ForkRequest.Callback"/>
    [Id(7)] public required string Callback { get; init; }

    /// <summary>When it was forked.</summary>
    [Id(8)] public required DateTimeOffset Created { get; init; }

    /// <summary>Its delay.</summary>
    [Id(9)] public TimeSpan Delay { get; init; }

    /// <summary>Its priority.</summary>
    [Id(10)] public int Priority { get; init; }
}

/// <summary>Impetus' error structure: what a forked function threw, and where.</summary>
/// <param name="Error">The exception's message.</param>
/// <param name="Name">The forked function's name.</param>
/// <param name="LineNumber">The line it threw on, when the posted code carried symbols.</param>
/// <param name="Statement">That source line, when the source was available.</param>
/// <param name="ExceptionType">The exception's type.</param>
/// <param name="Frame">The method (of the posted code) it was thrown in.</param>
[GenerateSerializer, Immutable, Alias("jobs.ForkError")]
public sealed record ForkError(
    [property: Id(0), JsonPropertyName("error")] string Error,
    [property: Id(1), JsonPropertyName("name")] string Name,
    [property: Id(2), JsonPropertyName("linenumber")] int? LineNumber = null,
    [property: Id(3), JsonPropertyName("statement")] string? Statement = null,
    [property: Id(4), JsonPropertyName("exceptionType")] string? ExceptionType = null,
    [property: Id(5), JsonPropertyName("frame")] string? Frame = null)
{
    /// <summary>The record of a fork whose posted function threw or could not run.</summary>
    public static ForkError From(PostedCodeException exception, string name)
    {
        ArgumentNullException.ThrowIfNull(exception);
        return exception.Error is { } thrown
            ? new ForkError(thrown.Message, name, thrown.Line, thrown.Statement, thrown.ExceptionType, thrown.Frame)
            : new ForkError(exception.Message, name, ExceptionType: nameof(PostedCodeException));
    }
}

/// <summary>Whether a fork gave a result or an error.</summary>
public enum ForkStatus
{
    /// <summary>The function returned; <see cref="ForkRecord.Result"/> holds its value.</summary>
    Ready,

    /// <summary>The function threw, or every run's worker died; <see cref="ForkRecord.Error"/> says why.</summary>
    Error,
}

/// <summary>
/// A finished fork as its callback stage receives it (Impetus' job record): the fork, its status, and its result or
/// error. Persisted in the stage's result log; exported as one JSON line to <c>stage.ok</c> or <c>stage.err</c>.
/// </summary>
[GenerateSerializer, Immutable, Alias("jobs.ForkRecord")]
public sealed record ForkRecord
{
    /// <summary>The fork.</summary>
    [Id(0)] public required ForkJob Job { get; init; }

    /// <summary>Ready or error.</summary>
    [Id(1)] public required ForkStatus Status { get; init; }

    /// <summary>The function's return value as JSON (<c>null</c> for none); null for an error.</summary>
    [Id(2)] public string? Result { get; init; }

    /// <summary>Why it failed; null when ready.</summary>
    [Id(3)] public ForkError? Error { get; init; }

    /// <summary>When its last run started.</summary>
    [Id(4)] public DateTimeOffset Started { get; init; }

    /// <summary>When it finished.</summary>
    [Id(5)] public DateTimeOffset Finished { get; init; }

    /// <summary>Which run this was, from 1.</summary>
    [Id(6)] public int Attempt { get; init; } = 1;

    /// <summary>The worker that ran it: the silo, its worker number, and the child process id when isolated.</summary>
    [Id(7)] public string? Worker { get; init; }

    /// <summary>The record's place in its stage's result log (set when read).</summary>
    [Id(8)] public long Sequence { get; init; }
}

/// <summary>A page of a stage's results.</summary>
/// <param name="Records">The records read, oldest first.</param>
/// <param name="Head">How many records the stage has received in all (its result log's last sequence).</param>
/// <param name="Expected">How many forks were made for the stage so far.</param>
/// <param name="InputClosed">True when every earlier stage is complete: no more forks will come for this stage.</param>
[GenerateSerializer, Immutable, Alias("jobs.ForkResultPage")]
public sealed record ForkResultPage(
    [property: Id(0)] IReadOnlyList<ForkRecord> Records,
    [property: Id(1)] long Head,
    [property: Id(2)] long Expected,
    [property: Id(3)] bool InputClosed)
{
    /// <summary>True when every record the stage will get has arrived.</summary>
    public bool AllArrived => InputClosed && Head >= Expected;
}

/// <summary>Where one stage is.</summary>
/// <param name="Name">The stage.</param>
/// <param name="Forked">Forks it made.</param>
/// <param name="Expected">Forks made for it by earlier stages.</param>
/// <param name="Received">Records that reached it.</param>
/// <param name="Taken">The last record sequence its client took (acknowledged).</param>
/// <param name="Complete">True once the client finished the stage.</param>
/// <param name="ForkedWhenTaken">Forks the stage had made when its client acknowledged <paramref name="Taken"/>: a client that reattaches handles only the later records, so the forks it makes number on from here.</param>
[GenerateSerializer, Immutable, Alias("jobs.StageProgress")]
public sealed record StageProgress(
    [property: Id(0)] string Name,
    [property: Id(1)] long Forked,
    [property: Id(2)] long Expected,
    [property: Id(3)] long Received,
    [property: Id(4)] long Taken,
    [property: Id(5)] bool Complete,
    [property: Id(6)] long ForkedWhenTaken = 0);

/// <summary>Where a stream is: each stage in order.</summary>
[GenerateSerializer, Immutable, Alias("jobs.WorkStreamProgress")]
public sealed record WorkStreamProgress(
    [property: Id(0)] string StreamId,
    [property: Id(1)] IReadOnlyList<StageProgress> Stages,
    [property: Id(2)] bool Closed)
{
    /// <summary>Forks made in all that have no record yet.</summary>
    public long Outstanding => Stages.Sum(s => Math.Max(0, s.Expected - s.Received));
}

/// <summary>An open stream as the nodes see it.</summary>
[GenerateSerializer, Immutable, Alias("jobs.ActiveWorkStream")]
public sealed record ActiveWorkStream(
    [property: Id(0)] string StreamId,
    [property: Id(1)] WorkStreamProperties Properties);
