using System.Text.Json.Nodes;
using Orleans.Jobs.Client.Pipelines;
using Orleans.Jobs.ClusterProcess;
using Orleans.Jobs.Silo.Pipelines;

namespace Orleans.Jobs.Benchmarks;

/// <summary>A pipeline the benchmark runs: its workload name, how to build one, its workers (one per step) and the SQL that checks its saved results.</summary>
public sealed record PipelineShape(string Workload, string Description, IReadOnlyList<string> Workers, Func<long, string, Pipeline> Create, Func<string, string> CountCorrect)
{
    public int Steps => Workers.Count;
}

/// <summary>The benchmark's pipelines, three steps of no work each, and what a silo registers to run them.</summary>
public static class BenchmarkPipelines
{
    /// <summary>The proof pipeline (tests/ClusterProcess/ProofPipeline.cs): a fan-out and a fan-in whose steps can only run one after another.</summary>
    public static readonly PipelineShape Chain = new("pipelines", "Seed → [Double, Sum], Double → Sum", ["Seed", "Double", "Sum"], ProofPipeline.For, BenchmarkSql.CountProofResults);

    /// <summary>Three steps with no edges: all queued when the pipeline starts, none queued by another's success.</summary>
    public static readonly PipelineShape Parallel = new("pipelines-parallel", "Left, Middle, Right (no edges)", ["Left", "Middle", "Right"], ParallelFor, BenchmarkSql.CountParallelResults);

    /// <summary>The workers of both shapes (no work per step) and the PostgreSQL pipeline store in the job store's schema.</summary>
    public static ISiloBuilder AddBenchmarkPipelines(this ISiloBuilder silo)
    {
        silo.AddProofPipelineWorkers();
        foreach (var worker in Parallel.Workers)
        {
            var key = worker.ToLowerInvariant(); // the result key BenchmarkSql.CountParallelResults looks for
            silo.AddPipelineWorker(worker, _ => new ProofPipeline.Step(["n"], data => new JsonObject { [key] = data["n"]!.GetValue<long>() }));
        }

        return silo.UsePipelinePostgresStore();
    }

    private static Pipeline ParallelFor(long n, string id) =>
        new(new PipelineGraph { new Job("Left"), new Job("Middle"), new Job("Right") }, new Dictionary<string, object?> { ["n"] = n }, id);
}
