using System.Text.Json;
using System.Text.RegularExpressions;

namespace Orleans.Jobs.Grains.Interfaces.Pipelines;

/// <summary>
/// What makes a pipeline valid. The client checks a pipeline when it is built and the pipeline grain checks it again
/// before storing anything, so a refused pipeline leaves nothing behind and every message names the rule it broke.
/// </summary>
public static partial class PipelineRules
{
    /// <summary>How many times a step is tried before the pipeline fails, unless the pipeline says otherwise.</summary>
    public const int DefaultMaxAttempts = 3;

    /// <summary>The most steps one pipeline may have.</summary>
    public const int MaxSteps = 1_000;

    /// <summary>The most edges one pipeline may have.</summary>
    public const int MaxEdges = 10_000;

    /// <summary>The longest worker name.</summary>
    public const int MaxWorkerNameLength = 100;

    /// <summary>The longest pipeline id.</summary>
    public const int MaxPipelineIdLength = 128;

    /// <summary>The queue that carries the step jobs of <paramref name="worker"/>: every silo that registers the worker claims from it.</summary>
    public static string StepQueue(string worker) => "pipeline:" + worker;

    /// <summary>Checks a worker name: 1 to 100 characters from A-Z, a-z, 0-9, '.', '_' and '-', starting with a letter or digit.</summary>
    /// <exception cref="ArgumentException">The name breaks the rule.</exception>
    public static void ValidateWorkerName(string? worker, string paramName = "worker")
    {
        if (worker is null || !WorkerNamePattern().IsMatch(worker))
            throw new ArgumentException($"Worker name '{Shorten(worker)}' is invalid: use 1 to {MaxWorkerNameLength} characters from A-Z, a-z, 0-9, '.', '_' and '-', starting with a letter or digit.", paramName);
    }

    /// <summary>Checks a pipeline id: 1 to 128 characters from A-Z, a-z, 0-9, '.', '_' and '-', starting with a letter or digit.</summary>
    /// <exception cref="ArgumentException">The id breaks the rule.</exception>
    public static void ValidatePipelineId(string? id, string paramName = "id")
    {
        if (id is null || !PipelineIdPattern().IsMatch(id))
            throw new ArgumentException($"Pipeline id '{Shorten(id)}' is invalid: use 1 to {MaxPipelineIdLength} characters from A-Z, a-z, 0-9, '.', '_' and '-', starting with a letter or digit.", paramName);
    }

    /// <summary>Checks a whole definition: steps, edges, acyclicity, data and attempts.</summary>
    /// <exception cref="ArgumentException">The definition breaks a rule; the message names it.</exception>
    public static void Validate(PipelineDefinition definition)
    {
        ArgumentNullException.ThrowIfNull(definition);
        if (definition.Steps is null || definition.Steps.Count == 0)
            throw new ArgumentException("The pipeline is empty: give it at least one job.", nameof(definition));
        if (definition.Steps.Count > MaxSteps)
            throw new ArgumentException($"The pipeline has {definition.Steps.Count} jobs; the limit is {MaxSteps}.", nameof(definition));
        var edges = definition.Edges ?? throw new ArgumentException("The pipeline's edges are missing.", nameof(definition));
        if (edges.Count > MaxEdges)
            throw new ArgumentException($"The pipeline has {edges.Count} edges; the limit is {MaxEdges}.", nameof(definition));

        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var step in definition.Steps)
        {
            ValidateWorkerName(step, "steps");
            if (!seen.Add(step))
                throw new ArgumentException($"Job('{step}') appears twice in the pipeline's job list; a worker is one node of a pipeline.", nameof(definition));
        }

        var distinct = new HashSet<PipelineEdge>();
        foreach (var edge in edges)
        {
            if ((uint)edge.From >= (uint)definition.Steps.Count || (uint)edge.To >= (uint)definition.Steps.Count)
                throw new ArgumentException($"Edge {edge.From} -> {edge.To} names a job that is not in the pipeline (it has {definition.Steps.Count}).", nameof(definition));
            if (edge.From == edge.To)
                throw new ArgumentException($"The pipeline has a cycle: {definition.Steps[edge.From]} -> {definition.Steps[edge.From]}.", nameof(definition));
            if (!distinct.Add(edge))
                throw new ArgumentException($"The edge {definition.Steps[edge.From]} -> {definition.Steps[edge.To]} is given twice.", nameof(definition));
        }

        if (FindCycle(definition.Steps.Count, edges) is { } cycle)
            throw new ArgumentException($"The pipeline has a cycle: {string.Join(" -> ", cycle.Select(i => definition.Steps[i]))}.", nameof(definition));

        ValidateData(definition.Data);
        if (definition.MaxAttempts is < 1 or > QueueLimits.MaxMaxAttempts)
            throw new ArgumentOutOfRangeException(nameof(definition), definition.MaxAttempts, $"MaxAttempts must be between 1 and {QueueLimits.MaxMaxAttempts}.");
    }

    /// <summary>Checks the pipeline's data: a JSON object of at most <see cref="QueueLimits.MaxPayloadBytes"/> bytes, valid text.</summary>
    /// <exception cref="ArgumentException">The data breaks the rule.</exception>
    public static void ValidateData(string? data)
    {
        QueueLimits.ValidatePayload(data, "data");
        try
        {
            using var document = JsonDocument.Parse(data!);
            if (document.RootElement.ValueKind != JsonValueKind.Object)
                throw new ArgumentException($"The pipeline's data must be a JSON object, not {document.RootElement.ValueKind}.", "data");
        }
        catch (JsonException e)
        {
            throw new ArgumentException($"The pipeline's data is not valid JSON: {e.Message}", "data", e);
        }
    }

    /// <summary>The steps that no edge leads to: they start first.</summary>
    public static IEnumerable<int> Roots(PipelineDefinition definition) =>
        Enumerable.Range(0, definition.Steps.Count).Where(i => !definition.Edges.Any(e => e.To == i));

    /// <summary>
    /// A cycle as step indexes in order, first step repeated at the end (a -> b -> a), or null. Depth-first search
    /// with an explicit stack, so a long chain cannot overflow the call stack.
    /// </summary>
    public static IReadOnlyList<int>? FindCycle(int steps, IReadOnlyList<PipelineEdge> edges)
    {
        var next = new List<int>[steps];
        for (var i = 0; i < steps; i++) next[i] = [];
        foreach (var edge in edges) next[edge.From].Add(edge.To);

        var color = new byte[steps]; // 0 unvisited, 1 on the current path, 2 done
        var parent = new int[steps];
        for (var start = 0; start < steps; start++)
        {
            if (color[start] != 0) continue;
            var stack = new Stack<(int Node, int NextIndex)>();
            stack.Push((start, 0));
            color[start] = 1;
            parent[start] = -1;
            while (stack.Count > 0)
            {
                var (node, index) = stack.Pop();
                if (index < next[node].Count)
                {
                    stack.Push((node, index + 1));
                    var to = next[node][index];
                    if (color[to] == 1)
                    {
                        var cycle = new List<int> { to };
                        for (var at = node; at != to; at = parent[at]) cycle.Add(at);
                        cycle.Add(to);
                        cycle.Reverse();
                        return cycle;
                    }

                    if (color[to] == 0)
                    {
                        color[to] = 1;
                        parent[to] = node;
                        stack.Push((to, 0));
                    }
                }
                else
                {
                    color[node] = 2;
                }
            }
        }

        return null;
    }

    private static string? Shorten(string? text) => text is { Length: > 140 } ? text[..140] + "…" : text;

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,99}\\z")]
    private static partial Regex WorkerNamePattern();

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,127}\\z")]
    private static partial Regex PipelineIdPattern();
}
