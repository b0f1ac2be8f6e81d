using System.Text.Json.Nodes;

namespace Orleans.Jobs.Grains.Interfaces.Pipelines;

/// <summary>
/// A pipeline worker (pypelinin's <c>Worker</c>): declares the store keys it needs and turns them into a result. It
/// is a plain class: unit-test it by calling <see cref="ProcessAsync"/> with a <see cref="JsonObject"/>, no cluster
/// needed. Register it on the silos that should run it with <c>AddPipelineWorker</c>; its name (the class name unless
/// given) is what pipelines call it by.
/// </summary>
public interface IPipelineWorker
{
    /// <summary>The keys the worker needs from the store (pypelinin's <c>requires</c>).</summary>
    IReadOnlyList<string> Requires { get; }

    /// <summary>
    /// Processes one step: <paramref name="data"/> holds the required keys as the store built them; the returned
    /// object is saved by the store. Throw to fail the attempt. Stop when <paramref name="cancellationToken"/> is
    /// cancelled (the silo stops or the step's lease was lost).
    /// </summary>
    Task<JsonObject> ProcessAsync(JsonObject data, CancellationToken cancellationToken);
}

/// <summary>
/// Where steps read their input and write their output (pypelinin's <c>StoreClass</c>), on every silo that runs
/// steps. Two ship with Orleans.Jobs: a file store (one JSON document per pipeline) and a PostgreSQL store (jsonb).
/// </summary>
public interface IPipelineStore
{
    /// <summary>Builds a worker's input: the values of <paramref name="requires"/> for this pipeline.</summary>
    /// <param name="pipelineData">The pipeline's data, as given when it was started.</param>
    /// <param name="job">Which pipeline and step.</param>
    /// <param name="requires">The keys the worker declared.</param>
    /// <param name="cancellationToken">Cancelled when the step stops.</param>
    Task<JsonObject> RetrieveAsync(JsonObject pipelineData, PipelineJobInfo job, IReadOnlyList<string> requires, CancellationToken cancellationToken);

    /// <summary>Persists a worker's result for this pipeline.</summary>
    Task SaveAsync(JsonObject pipelineData, PipelineJobInfo job, JsonObject result, CancellationToken cancellationToken);
}

/// <summary>The step a store call is for (pypelinin's job info).</summary>
/// <param name="PipelineId">The pipeline.</param>
/// <param name="Worker">The step's worker.</param>
/// <param name="Attempt">Which attempt, from 1.</param>
public sealed record PipelineJobInfo(string PipelineId, string Worker, int Attempt);

/// <summary>A store has no value for a key a worker requires.</summary>
public sealed class MissingPipelineDataException(string message) : Exception(message);
