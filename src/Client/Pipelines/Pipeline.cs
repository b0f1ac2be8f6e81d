using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Orleans.Jobs.Grains.Interfaces.Pipelines;

namespace Orleans.Jobs.Client.Pipelines;

/// <summary>
/// A pipeline (pypelinin's <c>Pipeline</c>): a directed acyclic graph of jobs plus data handed to the store for every
/// job. It is validated when built — empty, cyclic (the cycle is named in order), repeated edges, data that is not
/// JSON — so a bad pipeline never reaches the cluster. Start it with <see cref="PipelineManager"/>;
/// <see cref="ToString"/> gives its DOT graph.
/// </summary>
public sealed class Pipeline
{
    private readonly PipelineDefinition _definition;

    /// <summary>Builds and validates a pipeline.</summary>
    /// <param name="graph">The jobs and edges.</param>
    /// <param name="data">Data for the store: each value must be JSON-serialisable (System.Text.Json, web defaults).</param>
    /// <param name="id">The pipeline's id; a new one is made when null. Starting two pipelines under one id is refused.</param>
    /// <param name="maxAttempts">How many times a failing step is tried before the pipeline fails.</param>
    /// <exception cref="ArgumentException">The pipeline breaks a rule; the message names it.</exception>
    public Pipeline(PipelineGraph graph, IReadOnlyDictionary<string, object?>? data = null, string? id = null, int maxAttempts = PipelineRules.DefaultMaxAttempts)
        : this(graph, ToJson(data), id, maxAttempts)
    {
    }

    /// <summary>Builds and validates a pipeline whose data is already a JSON object.</summary>
    /// <exception cref="ArgumentException">The pipeline breaks a rule; the message names it.</exception>
    public Pipeline(PipelineGraph graph, JsonObject data, string? id = null, int maxAttempts = PipelineRules.DefaultMaxAttempts)
    {
        ArgumentNullException.ThrowIfNull(graph);
        ArgumentNullException.ThrowIfNull(data);
        Id = id ?? Guid.NewGuid().ToString("N");
        PipelineRules.ValidatePipelineId(Id, nameof(id));
        Jobs = [.. graph.Jobs];
        Edges = [.. graph.Edges];
        var index = Jobs.Select((job, i) => (job, i)).ToDictionary(p => p.job, p => p.i);
        _definition = new PipelineDefinition(
            [.. Jobs.Select(j => j.WorkerName)],
            [.. Edges.Select(e => new PipelineEdge(index[e.From], index[e.To]))],
            data.ToJsonString(),
            maxAttempts);
        PipelineRules.Validate(_definition);
        Data = data.DeepClone().AsObject();
    }

    /// <summary>The pipeline's id.</summary>
    public string Id { get; }

    /// <summary>The jobs, in the order they were first named.</summary>
    public IReadOnlyList<Job> Jobs { get; }

    /// <summary>The edges, from → to.</summary>
    public IReadOnlyList<(Job From, Job To)> Edges { get; }

    /// <summary>A copy of the data handed to the store.</summary>
    public JsonObject Data { get; }

    /// <summary>How many times a failing step is tried.</summary>
    public int MaxAttempts => _definition.MaxAttempts;

    /// <summary>True once the manager that started it learned that it finished (pypelinin's <c>pipeline.finished</c>).</summary>
    public bool Finished { get; internal set; }

    /// <summary>How it finished, once <see cref="Finished"/>.</summary>
    public PipelineState? FinalState { get; internal set; }

    /// <summary>What crosses the wire.</summary>
    public PipelineDefinition ToDefinition() => _definition;

    /// <summary>The pipeline as a DOT digraph, as pypelinin prints it: nodes, a blank line, edges.</summary>
    public override string ToString() => ToDot();

    /// <summary>
    /// The DOT digraph; given a <paramref name="status"/>, nodes are filled by step state (pending white, queued light
    /// grey, running gold, done green, failed red, cancelled grey) and carry their attempts as a tooltip.
    /// </summary>
    public string ToDot(PipelineStatus? status = null)
    {
        var dot = new StringBuilder("digraph graphname {\n");
        foreach (var job in Jobs)
        {
            dot.Append("    ").Append(Quote(job.WorkerName));
            if (status?.Steps.FirstOrDefault(s => s.Worker == job.WorkerName) is { } step)
                dot.Append($" [style=filled, fillcolor={Quote(Colour(step.State))}, tooltip={Quote($"{step.State.ToString().ToLowerInvariant()}, {step.Attempts} attempt(s)")}]");
            dot.Append(";\n");
        }

        dot.Append('\n');
        foreach (var (from, to) in Edges)
            dot.Append("    ").Append(Quote(from.WorkerName)).Append(" -> ").Append(Quote(to.WorkerName)).Append(";\n");
        return dot.Append("}\n").ToString();
    }

    /// <summary>Writes <see cref="ToDot"/> to <paramref name="path"/> (pypelinin's <c>save_dot</c>); render it with <c>dot -Tsvg</c>.</summary>
    public Task SaveDotAsync(string path, PipelineStatus? status = null, CancellationToken cancellationToken = default) =>
        File.WriteAllTextAsync(path, ToDot(status), cancellationToken);

    private static string Colour(StepState state) => state switch
    {
        StepState.Pending => "white",
        StepState.Queued => "lightgrey",
        StepState.Running => "gold",
        StepState.Done => "palegreen",
        StepState.Failed => "tomato",
        _ => "grey",
    };

    private static string Quote(string text) => "\"" + text.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"";

    private static JsonObject ToJson(IReadOnlyDictionary<string, object?>? data)
    {
        var json = new JsonObject();
        if (data is null) return json;
        foreach (var (key, value) in data)
        {
            ArgumentNullException.ThrowIfNull(key, nameof(data));
            try
            {
                json[key] = JsonSerializer.SerializeToNode(value, JsonSerializerOptions.Web);
            }
            catch (Exception e) when (e is NotSupportedException or JsonException or InvalidOperationException or ArgumentException)
            {
                throw new ArgumentException($"data[\"{key}\"] ({value?.GetType().Name ?? "null"}) is not JSON-serialisable: {e.Message}", nameof(data), e);
            }
        }

        return json;
    }
}
