using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Orleans.Jobs.Grains.Interfaces.Sweeps;

/// <summary>One parameter set of a sweep posting.</summary>
/// <param name="Parameters">The parameter set as a canonical JSON object (keys sorted): it is the job's payload.</param>
[GenerateSerializer, Immutable, Alias("jobs.SweepParameters")]
public sealed record SweepParameters([property: Id(0)] string Parameters);

/// <summary>What a posting did.</summary>
/// <param name="JobHash">The hash of the sweep's job (JobMon's jobhash).</param>
/// <param name="Posted">Experiment keys (<c>jobhash|paramhash</c>) sent as jobs now.</param>
/// <param name="AlreadyPosted">Experiment keys skipped because an identical parameter set was posted before.</param>
[GenerateSerializer, Immutable, Alias("jobs.SweepPosting")]
public sealed record SweepPosting([property: Id(0)] string JobHash, [property: Id(1)] IReadOnlyList<string> Posted, [property: Id(2)] IReadOnlyList<string> AlreadyPosted);

/// <summary>One experiment of a sweep (JobMon's experiment): its parameters, when it was submitted, its job and its result.</summary>
[GenerateSerializer, Immutable, Alias("jobs.SweepExperiment")]
public sealed record SweepExperiment(
    [property: Id(0)] string Key,
    [property: Id(1)] string Parameters,
    [property: Id(2)] DateTimeOffset SubmittedAt,
    [property: Id(3)] long JobId,
    [property: Id(4)] JobState? State,
    [property: Id(5)] string? Result,
    [property: Id(6)] string? Error,
    [property: Id(7)] string? Ground,
    [property: Id(8)] string? Description);

/// <summary>The rules of sweeps, in one place: hashing as JobMon does, and limits.</summary>
public static class SweepRules
{
    /// <summary>The most parameter sets one posting may have.</summary>
    public const int MaxParameterSets = 100_000;

    /// <summary>The most experiments one sweep keeps.</summary>
    public const int MaxExperiments = 1_000_000;

    /// <summary>The longest description.</summary>
    public const int MaxDescriptionLength = 1_000;

    /// <summary>The hash of a sweep's job: the first 16 hex digits of SHA-256 of its queue name.</summary>
    public static string JobHash(string queue) => Hash(queue);

    /// <summary>The hash of a canonical parameter set.</summary>
    public static string ParameterHash(string canonicalParameters) => Hash(canonicalParameters);

    /// <summary>JobMon's experiment key: <c>jobhash|paramhash</c>.</summary>
    public static string ExperimentKey(string jobHash, string parameterHash) => $"{jobHash}|{parameterHash}";

    /// <summary>
    /// The canonical form of a parameter set: a JSON object with keys in ordinal order, no whitespace, numbers as given.
    /// Two sets with the same keys and values hash the same whatever the order they were written in.
    /// </summary>
    /// <exception cref="ArgumentException">It is not a JSON object.</exception>
    public static string Canonical(string parameters)
    {
        JsonNode? node;
        try
        {
            node = JsonNode.Parse(parameters);
        }
        catch (JsonException e)
        {
            throw new ArgumentException($"A parameter set is not valid JSON: {e.Message}", nameof(parameters), e);
        }

        if (node is not JsonObject) throw new ArgumentException("A parameter set must be a JSON object of parameter names to values.", nameof(parameters));
        return Sorted(node)!.ToJsonString();
    }

    private static JsonNode? Sorted(JsonNode? node) => node switch
    {
        JsonObject o => new JsonObject(o.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => KeyValuePair.Create(p.Key, Sorted(p.Value)))),
        JsonArray a => new JsonArray([.. a.Select(Sorted)]),
        null => null,
        _ => node.DeepClone(),
    };

    private static string Hash(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..16];
}
