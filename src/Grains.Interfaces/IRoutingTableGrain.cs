using Orleans.Concurrency;

namespace Orleans.Jobs.Grains.Interfaces;

/// <summary>
/// The routing table between nodes, for elevation (MarbleRun's Elevator): data sent from a node to the same queue on
/// another tier. Use the key <see cref="RoutingTable.DefaultKey"/>.
/// </summary>
[Alias("jobs.routing")]
public interface IRoutingTableGrain : IGrainWithStringKey
{
    /// <summary>Replaces the routing table.</summary>
    /// <exception cref="ArgumentException">The table is invalid.</exception>
    [Alias("configure")]
    Task ConfigureAsync(RoutingTable table);

    /// <summary>Returns the routing table (a mesh without a hub until configured).</summary>
    [Alias("get")]
    Task<RoutingTable> GetAsync();

    /// <summary>
    /// Sends <paramref name="payload"/> from <paramref name="fromNode"/> to queue <paramref name="queue"/> on
    /// <paramref name="toNode"/>, or on the hub when it is null, if the table allows that route.
    /// </summary>
    /// <exception cref="ArgumentException">The route is not allowed, no hub is configured, or an argument is invalid; nothing was sent.</exception>
    [AlwaysInterleave]
    [Alias("elevate")]
    Task<ElevatedJob> ElevateAsync(string fromNode, string queue, string payload, string? toNode = null, SendOptions? options = null);
}

/// <summary>Where elevated data went.</summary>
/// <param name="Node">The node it was sent to.</param>
/// <param name="Queue">The node-local queue it is in.</param>
/// <param name="JobId">Its job id.</param>
[GenerateSerializer, Immutable, Alias("jobs.ElevatedJob")]
public sealed record ElevatedJob([property: Id(0)] string Node, [property: Id(1)] string Queue, [property: Id(2)] long JobId);

/// <summary>How the shape of a routing table is described.</summary>
[GenerateSerializer, Alias("jobs.RoutingMode")]
public enum RoutingMode
{
    /// <summary>Any node may send to any node.</summary>
    Mesh = 0,

    /// <summary>Spokes send only to the hub; the hub sends to every spoke.</summary>
    SpokeAndWheel = 1,

    /// <summary>Only the listed links.</summary>
    Custom = 2,
}

/// <summary>Which node may elevate to which, and the hub that elevation goes to by default.</summary>
[GenerateSerializer, Alias("jobs.RoutingTable")]
public sealed record RoutingTable
{
    /// <summary>The key of the cluster's routing table grain.</summary>
    public const string DefaultKey = "default";

    /// <summary>The node elevation goes to when no node is named; null: a node must always be named.</summary>
    [Id(0)]
    public string? Hub { get; init; }

    /// <summary>The shape of the table.</summary>
    [Id(1)]
    public RoutingMode Mode { get; init; }

    /// <summary>For <see cref="RoutingMode.Custom"/>: each node and the nodes it may send to.</summary>
    [Id(2)]
    public IReadOnlyDictionary<string, string[]> Links { get; init; } = new Dictionary<string, string[]>();

    /// <summary>A mesh: every node may send to every other; <paramref name="hub"/> is the default target.</summary>
    public static RoutingTable Mesh(string? hub = null) => new() { Mode = RoutingMode.Mesh, Hub = hub };

    /// <summary>Spoke and wheel: spokes reach only the hub, the hub reaches every node.</summary>
    public static RoutingTable SpokeAndWheel(string hub) => new() { Mode = RoutingMode.SpokeAndWheel, Hub = hub };

    /// <summary>Whether data may go from <paramref name="from"/> to <paramref name="to"/>.</summary>
    public bool Allows(string from, string to) => from != to && Mode switch
    {
        RoutingMode.Mesh => true,
        RoutingMode.SpokeAndWheel => from == Hub || to == Hub,
        _ => Links.TryGetValue(from, out var targets) && targets.Contains(to),
    };

    /// <summary>Checks the table; throws naming the first problem.</summary>
    /// <exception cref="ArgumentException">The table is invalid.</exception>
    public void Validate()
    {
        if (!Enum.IsDefined(Mode))
            throw new ArgumentOutOfRangeException(nameof(Mode), Mode, $"Mode must be {string.Join(", ", Enum.GetNames<RoutingMode>())}.");
        if (Links is null)
            throw new ArgumentNullException(nameof(Links), "Links must not be null (leave it empty).");
        if (Hub is not null) QueueLimits.ValidateNodeName(Hub, nameof(Hub));
        if (Mode == RoutingMode.SpokeAndWheel && Hub is null)
            throw new ArgumentException("A spoke-and-wheel routing table needs a Hub.", nameof(Hub));
        if (Mode != RoutingMode.Custom && Links.Count > 0)
            throw new ArgumentException($"Links are only used by {nameof(RoutingMode.Custom)} tables; this one is {Mode}.", nameof(Links));
        foreach (var (from, targets) in Links)
        {
            QueueLimits.ValidateNodeName(from, nameof(Links));
            if (targets is null) throw new ArgumentNullException(nameof(Links), $"The targets of node '{from}' must not be null.");
            foreach (var to in targets) QueueLimits.ValidateNodeName(to, nameof(Links));
        }
    }
}
