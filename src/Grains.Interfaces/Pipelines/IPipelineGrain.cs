using Orleans.Concurrency;

namespace Orleans.Jobs.Grains.Interfaces.Pipelines;

/// <summary>
/// One pipeline, keyed by its id (pypelinin's Pipeliner): it starts the roots, queues a step as a monitored job once
/// all its predecessors are done, fails the pipeline when a step fails on its last attempt, and records every step's
/// status, attempts and timings in Orleans grain state. Steps run on any silo that registered their worker.
/// </summary>
[Alias("jobs.pipeline")]
public interface IPipelineGrain : IGrainWithStringKey
{
    /// <summary>
    /// Validates and starts the pipeline. Starting it again with the same definition returns its status (a retried
    /// start is safe); with another definition it is refused.
    /// </summary>
    /// <exception cref="ArgumentException">The definition breaks a rule, a worker is not registered on any silo, or the id is taken; nothing was stored.</exception>
    [Alias("start")]
    Task<PipelineStatus> StartAsync(PipelineDefinition definition);

    /// <summary>The pipeline's status; <see cref="PipelineState.Unknown"/> when it was never started.</summary>
    [Alias("get-status"), AlwaysInterleave]
    Task<PipelineStatus> GetStatusAsync();

    /// <summary>
    /// Waits up to <paramref name="timeout"/> (at most <see cref="QueueLimits.MaxWait"/>) for the pipeline to finish
    /// and returns its status, finished or not.
    /// </summary>
    [Alias("wait"), AlwaysInterleave, ResponseTimeout(QueueLimits.WaitResponseTimeout)]
    Task<PipelineStatus> WaitAsync(TimeSpan timeout);

    /// <summary>
    /// Cancels the pipeline: steps not started never run; running steps finish (their results are kept) or are
    /// abandoned, and nothing runs after them. Returns the status; a finished pipeline is left as it is.
    /// </summary>
    [Alias("cancel")]
    Task<PipelineStatus> CancelAsync();

    /// <summary>
    /// Called by a worker that claimed a step job: may it run? Only the job of the step's current run may, while the
    /// pipeline runs, and only one job per run (<paramref name="jobId"/>); anything else is a stale or duplicate job
    /// the worker drops.
    /// </summary>
    [Alias("begin-step")]
    Task<StepGrant> BeginStepAsync(string worker, Guid run, long jobId, int attempt, string silo);

    /// <summary>Called by a worker once the step's result is saved: the step is done and its successors may start.</summary>
    [Alias("step-succeeded")]
    Task StepSucceededAsync(string worker, Guid run, DateTimeOffset startedAt);

    /// <summary>
    /// Called by a worker whose step attempt threw. On the last attempt (<paramref name="attempt"/> reached the
    /// pipeline's max attempts) the pipeline fails, naming the step and its error; otherwise the job store retries it.
    /// </summary>
    [Alias("step-failed")]
    Task StepFailedAsync(string worker, Guid run, int attempt, string error);
}

/// <summary>
/// The cluster's log of finished pipelines (pypelinin's broadcast channel): every pipeline that succeeds, fails or is
/// cancelled is appended in the order it finished, with a gap-free sequence number, and kept for a retention period.
/// A reader resumes after the last sequence it saw, so reconnecting loses nothing. Stateless: reads go to the store.
/// </summary>
[Alias("jobs.pipeline-log")]
public interface IPipelineLogGrain : IGrainWithIntegerKey
{
    /// <summary>
    /// Returns up to <paramref name="max"/> finished pipelines after sequence <paramref name="after"/>, waiting up to
    /// <paramref name="wait"/> (at most <see cref="QueueLimits.MaxWait"/>) for one when there is none yet.
    /// </summary>
    [Alias("read-finished"), ResponseTimeout(QueueLimits.WaitResponseTimeout)]
    Task<FinishedPage> ReadFinishedAsync(long after, int max, TimeSpan wait);
}

/// <summary>Which pipeline workers the running silos registered (the Brokers), so a pipeline naming none of them is refused.</summary>
[Alias("jobs.pipeline-workers")]
public interface IPipelineWorkerDirectoryGrain : IGrainWithIntegerKey
{
    /// <summary>Records the workers a silo runs; called by every silo as it starts.</summary>
    [Alias("register")]
    Task RegisterAsync(string silo, IReadOnlyList<string> workers);

    /// <summary>The workers registered by silos that are active now, sorted.</summary>
    [Alias("get-workers"), ReadOnly]
    Task<IReadOnlyList<string>> GetWorkersAsync();
}
