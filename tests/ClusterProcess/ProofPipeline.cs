using System.Text.Json.Nodes;
using Orleans.Jobs.Client.Pipelines;
using Orleans.Jobs.Grains.Interfaces.Pipelines;
using Orleans.Jobs.Silo.Pipelines;

namespace Orleans.Jobs.ClusterProcess;

/// <summary>
/// The three-step pipeline of the pipeline proofs and benchmarks: Seed → [Double, Sum], Double → Sum (one fan-out,
/// one fan-in). Seed saves a = n, Double saves b = 2a, Sum saves c = a + b: c = 3n shows Sum saw both results.
/// </summary>
public static class ProofPipeline
{
    /// <summary>The pipeline for <paramref name="n"/>.</summary>
    public static Pipeline For(long n, string id) => new(
        new PipelineGraph
        {
            { new Job("Seed"), [new Job("Double"), new Job("Sum")] },
            { new Job("Double"), new Job("Sum") },
        },
        new Dictionary<string, object?> { ["n"] = n },
        id);

    /// <summary>Registers the three workers; each works <paramref name="work"/> per step (so steps are in flight when a silo dies).</summary>
    public static ISiloBuilder AddProofPipelineWorkers(this ISiloBuilder silo, TimeSpan work = default)
    {
        silo.AddPipelineWorker("Seed", _ => new Step(["n"], d => new JsonObject { ["a"] = d["n"]!.GetValue<long>() }, work));
        silo.AddPipelineWorker("Double", _ => new Step(["a"], d => new JsonObject { ["b"] = 2 * d["a"]!.GetValue<long>() }, work));
        silo.AddPipelineWorker("Sum", _ => new Step(["a", "b"], d => new JsonObject { ["c"] = d["a"]!.GetValue<long>() + d["b"]!.GetValue<long>() }, work));
        return silo;
    }

    /// <summary>A worker that computes its result from its input, after <paramref name="work"/>.</summary>
    public sealed class Step(IReadOnlyList<string> requires, Func<JsonObject, JsonObject> compute, TimeSpan work = default) : IPipelineWorker
    {
        /// <inheritdoc />
        public IReadOnlyList<string> Requires => requires;

        /// <inheritdoc />
        public async Task<JsonObject> ProcessAsync(JsonObject data, CancellationToken cancellationToken)
        {
            if (work > TimeSpan.Zero) await Task.Delay(work, cancellationToken);
            return compute(data);
        }
    }
}
