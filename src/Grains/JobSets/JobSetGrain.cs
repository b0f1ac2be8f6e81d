using Microsoft.Extensions.Logging;
using Orleans.Jobs.Grains.Interfaces;
using Orleans.Jobs.Grains.Interfaces.JobSets;
using Orleans.Jobs.Grains.Queues;

namespace Orleans.Jobs.Grains.JobSets;

/// <summary>The persistent state of a jobset grain.</summary>
[GenerateSerializer, Alias("jobs.JobSetState")]
public sealed class JobSetState
{
    /// <summary>The creator's definition; null until created.</summary>
    [Id(0)] public JobSetDefinition? Definition { get; set; }

    /// <summary>Batches added.</summary>
    [Id(1)] public int AddedBatches { get; set; }

    /// <summary>Jobs added.</summary>
    [Id(2)] public long AddedJobs { get; set; }

    /// <summary>The batch being added when the state was last written, if any: after a crash, the store says whether it made it.</summary>
    [Id(3)] public int? AddingBatch { get; set; }

    /// <summary>Set once every batch was added.</summary>
    [Id(4)] public string? Fingerprint { get; set; }

    /// <summary>When the jobset was created.</summary>
    [Id(5)] public DateTimeOffset CreatedAt { get; set; }
}

/// <summary>
/// A jobset's setup and progress. Its jobs live in the job store (queue <see cref="JobSetRules.Queue"/>) with random
/// priorities, so claims come in random order; the queue is configured so a failed job's retry drops behind all fresh
/// work and nothing is pruned. Adding a batch is idempotent: the grain records the batch before sending it and, after
/// a crash, reads the queue's total to learn whether the send made it.
/// </summary>
public sealed partial class JobSetGrain(
    [PersistentState("jobset", JobGrainStorage.Name)] IPersistentState<JobSetState> state,
    QueueDataPlane plane,
    TimeProvider timeProvider,
    ILogger<JobSetGrain> logger) : Grain, IJobSetGrain
{
    private string Id => this.GetPrimaryKeyString();
    private string Queue => JobSetRules.Queue(Id);
    private JobSetState S => state.State;

    /// <inheritdoc />
    public async Task<JobSetSetup> BeginAsync(JobSetDefinition definition)
    {
        JobSetRules.ValidateJobSetId(Id, "jobSetId");
        if (S.Definition is not null) return Setup(created: false);
        JobSetRules.Validate(definition);
        await GrainFactory.GetGrain<IQueueControlGrain>(Queue).ConfigureAsync(JobSetRules.QueueSettings(definition));
        S.Definition = definition;
        S.CreatedAt = timeProvider.GetUtcNow();
        await state.WriteStateAsync();
        LogCreated(Id);
        return Setup(created: true);
    }

    /// <inheritdoc />
    public async Task<JobSetSetup> AddBatchAsync(int batchIndex, IReadOnlyList<JobSetJob> jobs)
    {
        RequireCreated();
        if (batchIndex < S.AddedBatches) return Setup(created: false); // another worker added it
        if (S.Fingerprint is not null)
            throw new ArgumentException($"Jobset '{Id}' is set up with {S.AddedBatches} batches; batch {batchIndex} is not one of them.", nameof(batchIndex));
        if (batchIndex > S.AddedBatches)
            throw new ArgumentException($"Batch {batchIndex} of jobset '{Id}' came before batch {S.AddedBatches}: add batches in order.", nameof(batchIndex));
        ArgumentNullException.ThrowIfNull(jobs);
        if (jobs.Count is 0 or > JobSetRules.MaxBatchSize)
            throw new ArgumentOutOfRangeException(nameof(jobs), jobs.Count, $"A batch must hold 1 to {JobSetRules.MaxBatchSize} jobs.");
        var ids = new HashSet<string>(StringComparer.Ordinal);
        foreach (var job in jobs)
        {
            JobSetRules.ValidateJob(job);
            if (!ids.Add(job.JobId)) throw new ArgumentException($"Job id '{job.JobId}' appears twice in batch {batchIndex} of jobset '{Id}'; job ids must be unique.", nameof(jobs));
        }

        if (S.AddingBatch != batchIndex || !await BatchReachedStoreAsync(jobs.Count))
        {
            S.AddingBatch = batchIndex;
            await state.WriteStateAsync();
            var messages = jobs.Select(j => new JobMessage(j.ToPayload(), new SendOptions { Priority = Random.Shared.Next(1, QueueLimits.MaxPriority + 1) })).ToList();
            await plane.SendAsync(Queue, messages);
        }

        S.AddingBatch = null;
        S.AddedBatches++;
        S.AddedJobs += jobs.Count;
        await state.WriteStateAsync();
        return Setup(created: false);
    }

    /// <inheritdoc />
    public async Task<JobSetSetup> CompleteSetupAsync(int batches, long jobs, string fingerprint)
    {
        RequireCreated();
        ArgumentException.ThrowIfNullOrEmpty(fingerprint);
        if (S.Fingerprint is { } known)
        {
            if (known != fingerprint || S.AddedBatches != batches || S.AddedJobs != jobs)
                throw new ArgumentException($"Jobset '{Id}' was set up with other jobs ({S.AddedJobs} in {S.AddedBatches} batches, fingerprint {known[..12]}…; this run has {jobs} in {batches}, {fingerprint[..Math.Min(12, fingerprint.Length)]}…). Use a new jobset id for new work.", nameof(fingerprint));
            return Setup(created: false);
        }

        if (S.AddedBatches != batches || S.AddedJobs != jobs)
            throw new ArgumentException($"Jobset '{Id}' has {S.AddedJobs} jobs in {S.AddedBatches} batches, not {jobs} in {batches}: add every batch before completing the setup.", nameof(batches));
        S.Fingerprint = fingerprint;
        await state.WriteStateAsync();
        return Setup(created: false);
    }

    /// <inheritdoc />
    public async Task<JobSetProgress> GetProgressAsync()
    {
        JobSetRules.ValidateJobSetId(Id, "jobSetId");
        var counts = await plane.GetCountsAsync(Queue);
        return new JobSetProgress(Id, S.AddedJobs, counts.Available + counts.Scheduled, counts.Running, counts.Completed, counts.DeadLettered, S.Fingerprint is not null);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<JobSetFailure>> GetFailuresAsync(int limit)
    {
        JobSetRules.ValidateJobSetId(Id, "jobSetId");
        var dead = await plane.GetDeadLettersAsync(Queue, limit);
        return [.. dead.Select(j => new JobSetFailure(JobSetJob.FromPayload(j.Payload).JobId, j.Attempt, j.LastError ?? "(no error recorded)"))];
    }

    /// <summary>After a crash between sending a batch and recording it: the queue holds every job ever added, so its total says.</summary>
    private async Task<bool> BatchReachedStoreAsync(int batchSize)
    {
        var counts = await plane.GetCountsAsync(Queue);
        var total = counts.Available + counts.Scheduled + counts.Running + counts.Completed + counts.DeadLettered;
        return total == S.AddedJobs + batchSize;
    }

    private void RequireCreated()
    {
        JobSetRules.ValidateJobSetId(Id, "jobSetId");
        if (S.Definition is null) throw new InvalidOperationException($"Jobset '{Id}' does not exist yet: call BeginAsync first.");
    }

    private JobSetSetup Setup(bool created) => new(created, S.Definition!, S.AddedBatches, S.AddedJobs, S.Fingerprint is not null);

    [LoggerMessage(Level = LogLevel.Information, Message = "Jobset {Id} created")]
    private partial void LogCreated(string id);
}
