using Orleans.Concurrency;
using Orleans.Jobs.Grains.Interfaces;
using Orleans.Runtime;

namespace Orleans.Jobs.Grains.Routing;

/// <summary>The persistent state of the routing table grain.</summary>
[GenerateSerializer, Alias("jobs.RoutingState")]
public sealed class RoutingState
{
    /// <summary>The configured table; null until configured.</summary>
    [Id(0)]
    public RoutingTable? Table { get; set; }
}

/// <summary>Keeps the cluster's routing table and performs elevations along it.</summary>
public sealed class RoutingTableGrain([PersistentState("routing", JobGrainStorage.Name)] IPersistentState<RoutingState> state) : Grain, IRoutingTableGrain
{
    private static readonly RoutingTable Unconfigured = RoutingTable.Mesh();

    /// <inheritdoc />
    public async Task ConfigureAsync(RoutingTable table)
    {
        ArgumentNullException.ThrowIfNull(table);
        table.Validate();
        state.State.Table = table;
        await state.WriteStateAsync();
    }

    /// <inheritdoc />
    public Task<RoutingTable> GetAsync() => Task.FromResult(state.State.Table ?? Unconfigured);

    /// <inheritdoc />
    public async Task<ElevatedJob> ElevateAsync(string fromNode, string queue, string payload, string? toNode = null, SendOptions? options = null)
    {
        QueueLimits.ValidateNodeName(fromNode, nameof(fromNode));
        var name = QueueName.Parse(queue);
        if (name.IsNodeLocal)
            throw new ArgumentException($"queue must name a queue without a node: elevation picks the node ({(toNode is null ? "the hub" : $"'{toNode}'")}) from toNode and the routing table; {QueueLimits.Echo(queue)} names node '{name.Node}'.", nameof(queue));
        var table = state.State.Table ?? Unconfigured;
        var target = toNode ?? table.Hub
            ?? throw new ArgumentException($"Cannot elevate from node '{fromNode}' without naming a node: the routing table has no hub.", nameof(toNode));
        QueueLimits.ValidateNodeName(target, nameof(toNode));
        if (!table.Allows(fromNode, target))
            throw new ArgumentException($"Node '{fromNode}' may not elevate to node '{target}': the {table.Mode} routing table{(table.Hub is null ? "" : $" (hub '{table.Hub}')")} has no such route.", nameof(toNode));

        var local = QueueName.Local(name.Name, target).ToString();
        var jobId = await GrainFactory.GetGrain<IQueueGrain>(local).SendAsync(payload, options);
        return new ElevatedJob(target, local, jobId);
    }
}
