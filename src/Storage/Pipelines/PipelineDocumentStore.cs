using System.Text.Json.Nodes;
using Orleans.Jobs.Grains.Interfaces.Pipelines;

namespace Orleans.Jobs.Storage.Pipelines;

/// <summary>
/// A pipeline store that keeps one JSON object per pipeline: the top-level keys its steps saved. Both stores that ship
/// with Orleans.Jobs (<see cref="FilePipelineStore"/> and the PostgreSQL one) are this, and share its rules:
/// <list type="bullet">
/// <item><see cref="RetrieveAsync"/> returns an object with exactly the <c>requires</c> keys. Each value comes from
/// what earlier steps of this pipeline saved, else from the pipeline's data; a key in neither throws
/// <see cref="MissingPipelineDataException"/>, whose message names the key, the worker, the pipeline and the keys
/// there are.</item>
/// <item><see cref="SaveAsync"/> merges the result's top-level keys into the pipeline's object, the last write winning
/// per key. A merge is atomic with respect to the saves of other steps of the same pipeline, even from other processes:
/// the branches of a fan-out run at once on different silos, and no branch's keys may be lost. An empty result changes
/// nothing.</item>
/// <item>Pipeline ids are checked with <see cref="PipelineRules.ValidatePipelineId"/> before anything is read or written.</item>
/// </list>
/// </summary>
public abstract class PipelineDocumentStore : IPipelineStore
{
    /// <inheritdoc />
    /// <exception cref="MissingPipelineDataException">A required key is neither saved nor in the pipeline's data.</exception>
    /// <exception cref="ArgumentException">The pipeline id breaks <see cref="PipelineRules.ValidatePipelineId"/>.</exception>
    public async Task<JsonObject> RetrieveAsync(JsonObject pipelineData, PipelineJobInfo job, IReadOnlyList<string> requires, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(pipelineData);
        ArgumentNullException.ThrowIfNull(requires);
        ValidateJob(job);
        var saved = await LoadAsync(job.PipelineId, cancellationToken) ?? [];

        var input = new JsonObject();
        List<string>? missing = null;
        foreach (var key in requires)
        {
            // A saved null is a value, so TryGetPropertyValue (not the indexer) decides.
            if (saved.TryGetPropertyValue(key, out var value) || pipelineData.TryGetPropertyValue(key, out value))
                input[key] = value?.DeepClone(); // a node has one parent: the caller's objects stay whole
            else
                (missing ??= []).Add(key);
        }

        if (missing is not null)
            throw new MissingPipelineDataException(MissingMessage(job, missing, saved, pipelineData));
        return input;
    }

    /// <inheritdoc />
    /// <exception cref="ArgumentException">The pipeline id breaks <see cref="PipelineRules.ValidatePipelineId"/>.</exception>
    public Task SaveAsync(JsonObject pipelineData, PipelineJobInfo job, JsonObject result, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(result);
        ValidateJob(job);
        return result.Count == 0 ? Task.CompletedTask : MergeAsync(job, result, cancellationToken);
    }

    /// <summary>The object the steps of <paramref name="pipelineId"/> saved, or null when none saved anything yet.</summary>
    /// <param name="pipelineId">A valid pipeline id.</param>
    /// <param name="cancellationToken">Cancelled when the step stops.</param>
    protected abstract Task<JsonObject?> LoadAsync(string pipelineId, CancellationToken cancellationToken);

    /// <summary>
    /// Sets each top-level key of <paramref name="result"/> on the pipeline's object, creating it if needed, atomically
    /// with respect to every other merge of the same pipeline (in this process and in others).
    /// </summary>
    /// <param name="job">The step saving; its pipeline id is valid.</param>
    /// <param name="result">The step's result, with at least one key.</param>
    /// <param name="cancellationToken">Cancelled when the step stops.</param>
    protected abstract Task MergeAsync(PipelineJobInfo job, JsonObject result, CancellationToken cancellationToken);

    private static void ValidateJob(PipelineJobInfo job)
    {
        ArgumentNullException.ThrowIfNull(job);
        PipelineRules.ValidatePipelineId(job.PipelineId, nameof(job));
    }

    private static string MissingMessage(PipelineJobInfo job, List<string> missing, JsonObject saved, JsonObject pipelineData)
    {
        var available = saved.Select(p => p.Key).Union(pipelineData.Select(p => p.Key), StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        var keys = missing.Count == 1 ? $"key '{missing[0]}'" : $"keys {string.Join(", ", missing.Select(k => $"'{k}'"))}";
        return $"Worker '{job.Worker}' of pipeline '{job.PipelineId}' requires the {keys}, which neither the pipeline's data nor an earlier step's result holds. "
            + $"Keys available: {(available.Count == 0 ? "none" : string.Join(", ", available.Select(k => $"'{k}'")))}.";
    }
}
