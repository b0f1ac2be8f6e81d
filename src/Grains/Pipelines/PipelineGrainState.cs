using Orleans.Jobs.Grains.Interfaces.Pipelines;

namespace Orleans.Jobs.Grains.Pipelines;

/// <summary>The persistent state of a pipeline grain.</summary>
[GenerateSerializer, Alias("jobs.PipelineGrainState")]
public sealed class PipelineGrainState
{
    /// <summary>The pipeline as started; null until then.</summary>
    [Id(0)] public PipelineDefinition? Definition { get; set; }

    /// <summary>Where the pipeline is.</summary>
    [Id(1)] public PipelineState State { get; set; }

    /// <summary>One record per step, in the order of <see cref="PipelineDefinition.Steps"/>.</summary>
    [Id(2)] public List<StepRecord> Steps { get; set; } = [];

    /// <summary>When it started.</summary>
    [Id(3)] public DateTimeOffset? StartedAt { get; set; }

    /// <summary>When it finished.</summary>
    [Id(4)] public DateTimeOffset? FinishedAt { get; set; }

    /// <summary>The step that failed.</summary>
    [Id(5)] public string? FailedStep { get; set; }

    /// <summary>Why it failed.</summary>
    [Id(6)] public string? Error { get; set; }

    /// <summary>True once the pipeline is in the finished log.</summary>
    [Id(7)] public bool Logged { get; set; }
}

/// <summary>The persistent record of one step.</summary>
[GenerateSerializer, Alias("jobs.PipelineStepRecord")]
public sealed class StepRecord
{
    /// <summary>Where the step is.</summary>
    [Id(0)] public StepState State { get; set; }

    /// <summary>
    /// The current run: a fresh id each time the step is queued. Only a job carrying it may run the step, so a job
    /// queued twice (a retried queueing whose first attempt did reach the store) runs once.
    /// </summary>
    [Id(1)] public Guid Run { get; set; }

    /// <summary>The job carrying the current run, once known.</summary>
    [Id(2)] public long? JobId { get; set; }

    /// <summary>How many attempts a worker started.</summary>
    [Id(3)] public int Attempts { get; set; }

    /// <summary>When the current run was queued.</summary>
    [Id(4)] public DateTimeOffset? QueuedAt { get; set; }

    /// <summary>When the latest attempt started.</summary>
    [Id(5)] public DateTimeOffset? StartedAt { get; set; }

    /// <summary>When the step finished, failed or was cancelled.</summary>
    [Id(6)] public DateTimeOffset? FinishedAt { get; set; }

    /// <summary>The silo of the latest attempt.</summary>
    [Id(7)] public string? Silo { get; set; }

    /// <summary>The latest attempt's error.</summary>
    [Id(8)] public string? Error { get; set; }
}
