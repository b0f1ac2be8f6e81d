namespace Orleans.Jobs.Grains.Interfaces.Pipelines;

/// <summary>
/// A pipeline as it crosses the wire: its steps (one per worker name), the edges between them by step index, and the
/// data handed to the store for every step. Built and validated by the client's <c>Pipeline</c>; validated again by
/// the pipeline grain (see <see cref="PipelineRules"/>) before anything is stored.
/// </summary>
/// <param name="Steps">Worker names, one per step, in the order they were first named.</param>
/// <param name="Edges">Which step runs after which, as indexes into <see cref="Steps"/>.</param>
/// <param name="Data">The pipeline's data as a JSON object.</param>
/// <param name="MaxAttempts">How many times a failing step is tried before the pipeline fails.</param>
[GenerateSerializer, Immutable, Alias("jobs.PipelineDefinition")]
public sealed record PipelineDefinition(
    [property: Id(0)] IReadOnlyList<string> Steps,
    [property: Id(1)] IReadOnlyList<PipelineEdge> Edges,
    [property: Id(2)] string Data,
    [property: Id(3)] int MaxAttempts = PipelineRules.DefaultMaxAttempts)
{
    /// <summary>True when both define the same graph, data and attempts (a retried start of the same pipeline).</summary>
    public bool SameAs(PipelineDefinition other) =>
        Steps.SequenceEqual(other.Steps, StringComparer.Ordinal)
        && Edges.SequenceEqual(other.Edges)
        && Data == other.Data
        && MaxAttempts == other.MaxAttempts;
}

/// <summary>An edge of a pipeline: step <see cref="From"/> finishes before step <see cref="To"/> starts.</summary>
[GenerateSerializer, Immutable, Alias("jobs.PipelineEdge")]
public readonly record struct PipelineEdge([property: Id(0)] int From, [property: Id(1)] int To);

/// <summary>Where a pipeline is in its life.</summary>
[GenerateSerializer, Alias("jobs.PipelineState")]
public enum PipelineState
{
    /// <summary>No pipeline was started under this id.</summary>
    Unknown = 0,

    /// <summary>Started; some steps have not finished.</summary>
    Running = 1,

    /// <summary>Every step finished.</summary>
    Succeeded = 2,

    /// <summary>A step failed on its last attempt; no further steps start.</summary>
    Failed = 3,

    /// <summary>Cancelled; no further steps start.</summary>
    Cancelled = 4,
}

/// <summary>Where a step is in its life.</summary>
[GenerateSerializer, Alias("jobs.StepState")]
public enum StepState
{
    /// <summary>Waiting for its predecessors.</summary>
    Pending = 0,

    /// <summary>Its job is in the job store, waiting for a worker.</summary>
    Queued = 1,

    /// <summary>A worker runs it.</summary>
    Running = 2,

    /// <summary>Finished; its result is in the store.</summary>
    Done = 3,

    /// <summary>Failed on its last attempt.</summary>
    Failed = 4,

    /// <summary>Will not run: the pipeline was cancelled or another step failed.</summary>
    Cancelled = 5,
}

/// <summary>One step of a pipeline as the pipeline grain sees it.</summary>
[GenerateSerializer, Alias("jobs.StepStatus")]
public sealed record StepStatus
{
    /// <summary>The worker that runs the step (also the step's name: a worker appears once per pipeline).</summary>
    [Id(0)] public required string Worker { get; init; }

    /// <summary>Where the step is.</summary>
    [Id(1)] public StepState State { get; init; }

    /// <summary>How many times a worker started it.</summary>
    [Id(2)] public int Attempts { get; init; }

    /// <summary>When its job was put in the job store.</summary>
    [Id(3)] public DateTimeOffset? QueuedAt { get; init; }

    /// <summary>When its latest attempt started.</summary>
    [Id(4)] public DateTimeOffset? StartedAt { get; init; }

    /// <summary>When it finished, failed or was cancelled.</summary>
    [Id(5)] public DateTimeOffset? FinishedAt { get; init; }

    /// <summary>The silo that ran its latest attempt.</summary>
    [Id(6)] public string? Silo { get; init; }

    /// <summary>The error of its latest failed attempt.</summary>
    [Id(7)] public string? Error { get; init; }
}

/// <summary>A pipeline's state with every step's.</summary>
[GenerateSerializer, Alias("jobs.PipelineStatus")]
public sealed record PipelineStatus
{
    /// <summary>The pipeline id.</summary>
    [Id(0)] public required string Id { get; init; }

    /// <summary>Where the pipeline is.</summary>
    [Id(1)] public PipelineState State { get; init; }

    /// <summary>The steps, in the order of the definition.</summary>
    [Id(2)] public IReadOnlyList<StepStatus> Steps { get; init; } = [];

    /// <summary>When it was started.</summary>
    [Id(3)] public DateTimeOffset? StartedAt { get; init; }

    /// <summary>When it succeeded, failed or was cancelled.</summary>
    [Id(4)] public DateTimeOffset? FinishedAt { get; init; }

    /// <summary>The step that failed, when <see cref="State"/> is <see cref="PipelineState.Failed"/>.</summary>
    [Id(5)] public string? FailedStep { get; init; }

    /// <summary>Why it failed: the failed step's last error.</summary>
    [Id(6)] public string? Error { get; init; }

    /// <summary>True once it succeeded, failed or was cancelled.</summary>
    public bool IsFinished => State is PipelineState.Succeeded or PipelineState.Failed or PipelineState.Cancelled;

    /// <summary>The status of the step run by <paramref name="worker"/>.</summary>
    /// <exception cref="KeyNotFoundException">The pipeline has no such step.</exception>
    public StepStatus Step(string worker) =>
        Steps.FirstOrDefault(s => s.Worker == worker) ?? throw new KeyNotFoundException($"Pipeline '{Id}' has no step '{worker}'; its steps are {string.Join(", ", Steps.Select(s => s.Worker))}.");
}

/// <summary>What a worker may do with a step job it claimed.</summary>
/// <param name="Run">False: the job is stale (the step finished, was cancelled, or was queued again under a new run) and must not run.</param>
/// <param name="Data">The pipeline's data (JSON object) for the store, when <see cref="Run"/>.</param>
/// <param name="Reason">Why not, when not.</param>
[GenerateSerializer, Immutable, Alias("jobs.StepGrant")]
public sealed record StepGrant([property: Id(0)] bool Run, [property: Id(1)] string? Data, [property: Id(2)] string? Reason = null);

/// <summary>A finished pipeline in the cluster's finished log (pypelinin's broadcast).</summary>
/// <param name="Sequence">Its place in the log, from 1, gap-free and in the order pipelines finished: resume after it.</param>
/// <param name="PipelineId">The pipeline.</param>
/// <param name="State">How it finished.</param>
/// <param name="FinishedAt">When.</param>
/// <param name="FailedStep">The failed step, if it failed.</param>
/// <param name="Error">The failed step's error, if it failed.</param>
[GenerateSerializer, Immutable, Alias("jobs.FinishedPipeline")]
public sealed record FinishedPipeline(
    [property: Id(0)] long Sequence,
    [property: Id(1)] string PipelineId,
    [property: Id(2)] PipelineState State,
    [property: Id(3)] DateTimeOffset FinishedAt,
    [property: Id(4)] string? FailedStep = null,
    [property: Id(5)] string? Error = null);

/// <summary>A page of the finished log.</summary>
/// <param name="Entries">Entries after the requested sequence, oldest first.</param>
/// <param name="Head">The newest sequence in the log when read (0: empty).</param>
/// <param name="Oldest">The oldest sequence still kept; entries before it were trimmed after their retention.</param>
[GenerateSerializer, Immutable, Alias("jobs.FinishedPage")]
public sealed record FinishedPage([property: Id(0)] IReadOnlyList<FinishedPipeline> Entries, [property: Id(1)] long Head, [property: Id(2)] long Oldest);

/// <summary>The payload of a step job (JSON): which pipeline, step and run it carries.</summary>
/// <param name="Pipeline">The pipeline id.</param>
/// <param name="Worker">The step's worker.</param>
/// <param name="Run">The run of the step this job was queued for.</param>
public sealed record PipelineStepJob(string Pipeline, string Worker, Guid Run)
{
    /// <summary>The job payload.</summary>
    public string ToPayload() => System.Text.Json.JsonSerializer.Serialize(this, System.Text.Json.JsonSerializerOptions.Web);

    /// <summary>Reads a step job's payload.</summary>
    /// <exception cref="ArgumentException">The payload is not a step job.</exception>
    public static PipelineStepJob FromPayload(string payload)
    {
        try
        {
            var job = System.Text.Json.JsonSerializer.Deserialize<PipelineStepJob>(payload, System.Text.Json.JsonSerializerOptions.Web);
            if (job is { Pipeline: not null, Worker: not null } && job.Run != Guid.Empty) return job;
        }
        catch (System.Text.Json.JsonException)
        {
        }

        throw new ArgumentException($"The payload is not a pipeline step job ({{\"pipeline\", \"worker\", \"run\"}}): {(payload.Length > 200 ? payload[..200] + "…" : payload)}", nameof(payload));
    }
}
