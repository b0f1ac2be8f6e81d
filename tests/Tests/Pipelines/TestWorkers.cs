using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Orleans.Jobs.ClusterProcess;
using Orleans.Jobs.Grains.Interfaces.Pipelines;

namespace Orleans.Jobs.Tests.Pipelines;

/// <summary>Workers of the pipeline tests: the proof pipeline's three (<see cref="ProofPipeline"/>) and a few that fail, wait or follow.</summary>
public static class TestWorkers
{
    public static readonly string[] All = ["Seed", "Double", "Sum", "Flaky", "Gate", "Gate2", "After"];

    public static void Register(ISiloBuilder silo)
    {
        silo.AddProofPipelineWorkers();
        silo.AddPipelineWorker<Flaky>();
        silo.AddPipelineWorker("Gate", _ => new Gate("gate"));
        silo.AddPipelineWorker("Gate2", _ => new Gate("gate2"));
        silo.AddPipelineWorker("After", _ => new ProofPipeline.Step(["n"], d => new JsonObject { ["a"] = d["n"]!.GetValue<long>() }));
    }

    /// <summary>Throws the first <c>failures</c> times it runs for a <c>key</c>, then succeeds.</summary>
    public sealed class Flaky : IPipelineWorker
    {
        public static readonly ConcurrentDictionary<string, int> Runs = new();

        public IReadOnlyList<string> Requires => ["key", "failures"];

        public Task<JsonObject> ProcessAsync(JsonObject data, CancellationToken cancellationToken)
        {
            var key = data["key"]!.GetValue<string>();
            var run = Runs.AddOrUpdate(key, 1, (_, n) => n + 1);
            if (run <= data["failures"]!.GetValue<int>()) throw new InvalidOperationException($"flaky failure {run} of {key}");
            return Task.FromResult(new JsonObject { ["flaky_runs"] = run });
        }
    }

    /// <summary>Signals that it started and waits until the test opens the gate named by its data key <paramref name="key"/>.</summary>
    public sealed class Gate(string key) : IPipelineWorker
    {
        private static readonly ConcurrentDictionary<string, (TaskCompletionSource Started, TaskCompletionSource Open)> Gates = new();

        public static (TaskCompletionSource Started, TaskCompletionSource Open) For(string gate) =>
            Gates.GetOrAdd(gate, _ => (new(TaskCreationOptions.RunContinuationsAsynchronously), new(TaskCreationOptions.RunContinuationsAsynchronously)));

        public IReadOnlyList<string> Requires => [key];

        public async Task<JsonObject> ProcessAsync(JsonObject data, CancellationToken cancellationToken)
        {
            var (started, open) = For(data[key]!.GetValue<string>());
            started.TrySetResult();
            await open.Task.WaitAsync(TimeSpan.FromSeconds(60), cancellationToken);
            return new JsonObject { [$"{key}_passed"] = true };
        }
    }
}
