using Orleans.Jobs.Grains.Interfaces;

namespace Orleans.Jobs.Silo.Gateway;

/// <summary>
/// Who may call what through the HTTP gateway: the role every served grain method needs (one table, beside
/// <see cref="GrainAliases"/>), and the node a node-local call must prove — by the key it holds, never by a field it
/// sends. Orleans clients inside the cluster are trusted and never pass through here.
/// </summary>
public static class GatewayAccess
{
    private const string Queue = "jobs.queue";
    private const string Routing = "jobs.routing";

    /// <summary>The role each served method needs, by interface and method alias.</summary>
    public static IReadOnlyDictionary<(string Interface, string Method), GatewayRole> RequiredRoles { get; } = new Dictionary<(string, string), GatewayRole>
    {
        [(Queue, "send")] = GatewayRole.Worker,
        [(Queue, "expedite")] = GatewayRole.Worker,
        [(Queue, "send-batch")] = GatewayRole.Worker,
        [(Queue, "claim")] = GatewayRole.Worker,
        [(Queue, "wait")] = GatewayRole.Worker,
        [(Queue, "renew-lease")] = GatewayRole.Worker,
        [(Queue, "finish")] = GatewayRole.Worker,
        [(Queue, "fail")] = GatewayRole.Worker,
        [(Queue, "release")] = GatewayRole.Worker,
        [(Queue, "get-job")] = GatewayRole.Worker,
        [(Queue, "get-counts")] = GatewayRole.Worker,
        [(Queue, "get-dead-letters")] = GatewayRole.Worker,
        [(Queue, "get-settings")] = GatewayRole.Worker,
        [(Queue, "list-jobs")] = GatewayRole.Worker,
        [(Queue, "expire-unmonitored-jobs")] = GatewayRole.Admin,
        [(Queue, "requeue-dead-letter")] = GatewayRole.Admin,
        [(Queue, "purge-dead-letters")] = GatewayRole.Admin,
        [(Queue, "recover-expired-leases")] = GatewayRole.Admin,
        [(Queue, "configure")] = GatewayRole.Admin,
        [(Queue, "update-settings")] = GatewayRole.Admin,
        [(Routing, "get")] = GatewayRole.Worker,
        [(Routing, "elevate")] = GatewayRole.Worker,
        [(Routing, "configure")] = GatewayRole.Admin,
    };

    // Methods that put jobs into or take them out of the queue their grain key names: on a node-local queue, the node must be the key's.
    private static readonly HashSet<string> NodeLocalQueueMethods = ["send", "expedite", "send-batch", "claim", "wait"];

    /// <summary>The refusal (for a 403) when <paramref name="caller"/> lacks the role the method needs; null when it has it. A method missing from the table needs admin.</summary>
    public static string? RoleRefusal(GatewayCaller caller, string interfaceAlias, string methodAlias)
    {
        var required = RequiredRoles.GetValueOrDefault((interfaceAlias, methodAlias), GatewayRole.Admin);
        return caller.Role >= required ? null : $"{interfaceAlias}.{methodAlias} needs the {Name(required)} role; {caller} has the {Name(caller.Role)} role.";
    }

    /// <summary>
    /// The refusal (for a 403) when a worker key acts for a node it is not bound to; null when it may. A node-bound
    /// worker's claim is stamped with its node, so what a claim says about its node never counts.
    /// </summary>
    /// <param name="caller">Who sent the call.</param>
    /// <param name="interfaceAlias">The grain interface's alias.</param>
    /// <param name="grainKey">The grain's key: for a queue, its name.</param>
    /// <param name="methodAlias">The method's alias.</param>
    /// <param name="arguments">The call's arguments, in the method's parameter order; a claim's options are replaced by ones naming the key's node.</param>
    public static string? NodeRefusal(GatewayCaller caller, string interfaceAlias, string grainKey, string methodAlias, object?[] arguments)
    {
        if (caller.Role == GatewayRole.Admin) return null; // acts for every node, as Orleans clients do
        if (interfaceAlias == Routing && methodAlias == "elevate")
        {
            var fromNode = arguments[0] as string;
            return fromNode == caller.Node ? null : $"jobs.routing.elevate from node '{fromNode}' needs a worker key bound to that node (Gateway:Keys:<name>:Node); {caller} {BoundTo(caller)}.";
        }

        if (interfaceAlias != Queue || !NodeLocalQueueMethods.Contains(methodAlias)) return null;
        if (TryParse(grainKey) is { Node: { } node } && node != caller.Node)
            return $"jobs.queue.{methodAlias} on node-local queue '{grainKey}' needs a worker key bound to node '{node}' (Gateway:Keys:<name>:Node); {caller} {BoundTo(caller)}. Elevate data to another node instead.";
        for (var i = 0; i < arguments.Length; i++)
        {
            if (arguments[i] is not ClaimOptions claim) continue;
            if (claim.Node is not null && claim.Node != caller.Node)
                return $"ClaimOptions.node '{claim.Node}' is not the node of {caller}: a claim's node comes from its key (Gateway:Keys:<name>:Node); leave node out.";
            arguments[i] = claim with { Node = caller.Node };
        }

        return null;
    }

    private static string BoundTo(GatewayCaller caller) => caller.Node is null ? "is bound to no node" : $"is bound to node '{caller.Node}'";

    private static string Name(GatewayRole role) => role.ToString().ToLowerInvariant();

    // A malformed name is the grain's to refuse, with its own message.
    private static QueueName? TryParse(string queue)
    {
        try
        {
            return QueueName.Parse(queue);
        }
        catch (ArgumentException)
        {
            return null;
        }
    }
}
