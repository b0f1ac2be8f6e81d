using System.Text.Json;
using System.Text.Json.Serialization;

namespace Orleans.Jobs.Silo.Gateway;

/// <summary>
/// The HTTP protocol of a silo's gateway, for clients in other languages (.NET clients are Orleans clients). Grains
/// are named by their stable Orleans alias (such as <c>jobs.queue</c>) and methods by theirs (such as <c>send</c>).
/// </summary>
public static class GatewayProtocol
{
    /// <summary>The header carrying the cluster key.</summary>
    public const string ClusterKeyHeader = "X-Orleans-Jobs-Cluster-Key";

    /// <summary>The path of grain calls (POST, body <see cref="GatewayCall"/>).</summary>
    public const string CallPath = "/v1/grains/call";

    /// <summary>The path of the cluster status (GET).</summary>
    public const string ClusterPath = "/v1/cluster";

    /// <summary>The path of the liveness probe (GET, no key needed).</summary>
    public const string HealthPath = "/healthz";

    /// <summary>The JSON options used on the wire: a field the contract does not have is refused, never ignored.</summary>
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        Converters = { new JsonStringEnumConverter() },
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        AllowDuplicateProperties = false,
        MaxDepth = GatewayRequest.MaxDepth,
        // GatewayArguments reads contracts (GetTypeInfo) before anything is serialized; without a resolver set here
        // the first call of a fresh silo failed with an empty 500 (options get the default one only when first used).
        TypeInfoResolver = new System.Text.Json.Serialization.Metadata.DefaultJsonTypeInfoResolver(),
    };
}

/// <summary>A grain call: the grain interface's alias, the grain key, the method's alias, and its arguments (one JSON value per parameter, cancellation tokens left out).</summary>
public sealed record GatewayCall(string Interface, string Key, string Method, JsonElement[] Arguments);

/// <summary>A successful call's result (null for a plain Task).</summary>
public sealed record GatewayResult(JsonElement? Result);

/// <summary>
/// A failed call: the exception type, its message and, for argument errors, the parameter. A call that ran but changed
/// nothing because the job was not the caller's (404, 409: see <see cref="GatewayOutcomes"/>) has the outcome as its
/// type (<c>JobUpdateOutcome.LeaseLost</c>) and the result a 200 would have carried.
/// </summary>
public sealed record GatewayError(
    string Type,
    string Message,
    string? ParamName = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] JsonElement? Result = null);

/// <summary>The silos of a cluster as the gateway sees them: the job store, the serving silo and its node, and Orleans membership.</summary>
public sealed record ClusterStatus(string Store, string ServedBy, string Node, IReadOnlyList<ClusterSilo> Silos);

/// <summary>One silo of <see cref="ClusterStatus"/>.</summary>
public sealed record ClusterSilo(string Address, string Name, string HostName, string Status, DateTimeOffset StartedAt, DateTimeOffset? IAmAliveTime);
