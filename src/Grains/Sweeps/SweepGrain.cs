using Orleans.Jobs.Grains.Interfaces;
using Orleans.Jobs.Grains.Interfaces.Sweeps;
using Orleans.Jobs.Grains.Queues;

namespace Orleans.Jobs.Grains.Sweeps;

/// <summary>The persistent state of a sweep grain: every experiment posted, by parameter hash, in posting order.</summary>
[GenerateSerializer, Alias("jobs.SweepState")]
public sealed class SweepState
{
    /// <summary>Experiments in posting order.</summary>
    [Id(0)] public List<ExperimentRecord> Experiments { get; set; } = [];
}

/// <summary>One posted experiment.</summary>
[GenerateSerializer, Alias("jobs.SweepExperimentRecord")]
public sealed class ExperimentRecord
{
    /// <summary>The parameter set's hash.</summary>
    [Id(0)] public string ParameterHash { get; set; } = "";

    /// <summary>The canonical parameter set.</summary>
    [Id(1)] public string Parameters { get; set; } = "";

    /// <summary>When it was posted.</summary>
    [Id(2)] public DateTimeOffset SubmittedAt { get; set; }

    /// <summary>Its job.</summary>
    [Id(3)] public long JobId { get; set; }

    /// <summary>The ground truth its posting carried.</summary>
    [Id(4)] public string? Ground { get; set; }

    /// <summary>Its posting's description.</summary>
    [Id(5)] public string? Description { get; set; }
}

/// <summary>
/// A job's sweeps. New parameter sets are recorded only after their jobs were sent: a crash in between leaves jobs
/// that are not recorded, and the retried posting sends them again — a parameter set may run twice after a crash,
/// never zero times.
/// </summary>
public sealed class SweepGrain(
    [PersistentState("sweep", JobGrainStorage.Name)] IPersistentState<SweepState> state,
    QueueDataPlane plane,
    TimeProvider timeProvider) : Grain, ISweepGrain
{
    private string Queue
    {
        get
        {
            var queue = this.GetPrimaryKeyString();
            QueueName.Parse(queue);
            return queue;
        }
    }

    /// <inheritdoc />
    public async Task<SweepPosting> PostAsync(IReadOnlyList<SweepParameters> parameterSets, string? ground, string? description)
    {
        var queue = Queue;
        ArgumentNullException.ThrowIfNull(parameterSets);
        if (parameterSets.Count is 0 or > SweepRules.MaxParameterSets)
            throw new ArgumentOutOfRangeException(nameof(parameterSets), parameterSets.Count, $"A posting must have 1 to {SweepRules.MaxParameterSets} parameter sets.");
        if (description is { Length: > SweepRules.MaxDescriptionLength })
            throw new ArgumentException($"The description has {description.Length} characters; the limit is {SweepRules.MaxDescriptionLength}.", nameof(description));
        if (description is not null) QueueLimits.ValidatePayload(description, nameof(description));
        if (ground is not null)
        {
            QueueLimits.ValidatePayload(ground, nameof(ground));
            ground = SweepRules.Canonical(ground);
        }

        var jobHash = SweepRules.JobHash(queue);
        var known = state.State.Experiments.Select(e => e.ParameterHash).ToHashSet(StringComparer.Ordinal);
        var fresh = new List<(string Hash, string Parameters)>();
        var skipped = new List<string>();
        foreach (var set in parameterSets)
        {
            ArgumentNullException.ThrowIfNull(set, nameof(parameterSets));
            QueueLimits.ValidatePayload(set.Parameters, "parameter set");
            var canonical = SweepRules.Canonical(set.Parameters);
            var hash = SweepRules.ParameterHash(canonical);
            if (known.Add(hash)) fresh.Add((hash, canonical));
            else skipped.Add(SweepRules.ExperimentKey(jobHash, hash));
        }

        if (state.State.Experiments.Count + fresh.Count > SweepRules.MaxExperiments)
            throw new ArgumentException($"The sweep of queue '{queue}' would hold {state.State.Experiments.Count + fresh.Count} experiments; the limit is {SweepRules.MaxExperiments}.", nameof(parameterSets));

        var now = timeProvider.GetUtcNow();
        foreach (var chunk in fresh.Chunk(QueueLimits.MaxBatchSize))
        {
            var ids = await plane.SendAsync(queue, [.. chunk.Select(f => new JobMessage(f.Parameters))]);
            for (var i = 0; i < chunk.Length; i++)
                state.State.Experiments.Add(new ExperimentRecord { ParameterHash = chunk[i].Hash, Parameters = chunk[i].Parameters, SubmittedAt = now, JobId = ids[i], Ground = ground, Description = description });
        }

        if (fresh.Count > 0) await state.WriteStateAsync();
        return new SweepPosting(jobHash, [.. fresh.Select(f => SweepRules.ExperimentKey(jobHash, f.Hash))], skipped);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<SweepExperiment>> GetExperimentsAsync()
    {
        var queue = Queue;
        var jobHash = SweepRules.JobHash(queue);
        var results = new SweepExperiment[state.State.Experiments.Count];
        foreach (var chunk in state.State.Experiments.Select((e, i) => (e, i)).Chunk(64))
        {
            await Task.WhenAll(chunk.Select(async x =>
            {
                var job = await plane.GetJobAsync(queue, x.e.JobId);
                results[x.i] = new SweepExperiment(SweepRules.ExperimentKey(jobHash, x.e.ParameterHash), x.e.Parameters, x.e.SubmittedAt, x.e.JobId,
                    job?.State, job?.Result, job?.LastError, x.e.Ground, x.e.Description);
            }));
        }

        return results;
    }
}
