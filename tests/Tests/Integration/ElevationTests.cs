using Orleans.Jobs.Client.Queues;
using Orleans.Jobs.Grains.Interfaces;
using Orleans.Jobs.Silo.Hosting;
using Orleans.Jobs.Silo.Workers;
using Microsoft.Extensions.DependencyInjection;

namespace Orleans.Jobs.Tests.Integration;

/// <summary>
/// MarbleRun's multi-node, multi-bus architecture: node-local queues keep data on their node, and elevation moves it
/// between nodes along a spoke-and-wheel or mesh routing table. Three silos on three nodes: hub, a and b.
/// </summary>
public abstract class ElevationTests<TProvider> : ProviderScenarios<TProvider> where TProvider : IClusterProvider, new()
{
    private static readonly string[] Nodes = ["hub", "a", "b"];

    private async Task<(JobsCluster Cluster, ExecutionLog Log, Dictionary<string, string> NodeOfSilo)> StartAsync()
    {
        var log = new ExecutionLog();
        var started = 0;
        var cluster = Cluster(3).ConfigureSilo(s =>
        {
            var node = Nodes[Interlocked.Increment(ref started) - 1]; // silos are configured one after another, in order
            s.Services.Configure<JobsSiloOptions>(o => o.Node = node);
            s.AddJobHandler("resize", (job, _) =>
            {
                log.Started(job);
                return Task.FromResult<string?>(job.Queue);
            }, new JobHandlerOptions { NodeLocal = true });
        }).Build();
        await cluster.DeployAsync();
        var nodes = cluster.Silos.ToDictionary(JobsCluster.Owner, s => JobsCluster.Workers(s).Node);
        Assert.Equal(Nodes.Order(), nodes.Values.Order());
        return (cluster, log, nodes);
    }

    private static Marble MarbleOn(JobsCluster cluster, string node) => new(cluster.Client, new MarbleOptions { Node = node });

    private static async Task<string> RanOnNodeAsync(JobsCluster cluster, ExecutionLog log, Dictionary<string, string> nodes, string queue, long id)
    {
        var grain = cluster.Client.GetGrain<IQueueGrain>(queue);
        await Eventually.TrueAsync(async () => (await grain.GetJobAsync(id))?.State == JobState.Completed, $"job {id} of {queue}");
        return nodes[Assert.Single(log.Runs(id)).SiloId];
    }

    [Fact]
    public async Task Node_local_queues_keep_their_jobs_on_their_node()
    {
        var (cluster, log, nodes) = await StartAsync();
        await using var _ = cluster;
        var onA = await cluster.Client.GetGrain<IQueueGrain>("resize@a").SendBatchAsync(Enumerable.Range(0, 10).Select(i => new JobMessage($"a{i}")).ToList());
        var onB = await cluster.Client.GetGrain<IQueueGrain>("resize@b").SendBatchAsync(Enumerable.Range(0, 10).Select(i => new JobMessage($"b{i}")).ToList());

        foreach (var id in onA) Assert.Equal("a", await RanOnNodeAsync(cluster, log, nodes, "resize@a", id));
        foreach (var id in onB) Assert.Equal("b", await RanOnNodeAsync(cluster, log, nodes, "resize@b", id));

        await cluster.Client.GetGrain<IQueueGrain>("resize@a").SendAsync("stays on a");
        var refused = await Assert.ThrowsAsync<ArgumentException>(() =>
            cluster.Client.GetGrain<IQueueGrain>("resize@a").ClaimAsync(new ClaimOptions { Node = "b", Owner = "thief" }));
        Assert.Contains("local to node 'a'", refused.Message);
    }

    [Fact]
    public async Task Spoke_and_wheel_routes_spokes_through_the_hub()
    {
        var (cluster, log, nodes) = await StartAsync();
        await using var _ = cluster;
        await cluster.Client.GetGrain<IRoutingTableGrain>(RoutingTable.DefaultKey).ConfigureAsync(RoutingTable.SpokeAndWheel("hub"));

        var up = await MarbleOn(cluster, "a").ElevateAsync("resize", "from a, to the hub by default");
        Assert.Equal(("hub", "resize@hub"), (up.Node, up.Queue));
        Assert.Equal("hub", await RanOnNodeAsync(cluster, log, nodes, up.Queue, up.JobId));

        var across = await Assert.ThrowsAsync<ArgumentException>(() => MarbleOn(cluster, "a").ElevateAsync("resize", "a straight to b", toNode: "b"));
        Assert.Contains("Node 'a' may not elevate to node 'b'", across.Message);
        Assert.Equal(0, (await cluster.Client.GetGrain<IQueueGrain>("resize@b").GetCountsAsync()).Available);

        var down = await MarbleOn(cluster, "hub").ElevateAsync("resize", "hub to b", toNode: "b");
        Assert.Equal("b", await RanOnNodeAsync(cluster, log, nodes, down.Queue, down.JobId));
    }

    [Fact]
    public async Task A_mesh_lets_any_node_elevate_to_any_other()
    {
        var (cluster, log, nodes) = await StartAsync();
        await using var _ = cluster;
        var routing = cluster.Client.GetGrain<IRoutingTableGrain>(RoutingTable.DefaultKey);
        await routing.ConfigureAsync(RoutingTable.Mesh());

        var across = await MarbleOn(cluster, "a").ElevateAsync("resize", "a to b", toNode: "b");
        Assert.Equal("b", await RanOnNodeAsync(cluster, log, nodes, across.Queue, across.JobId));
        var back = await MarbleOn(cluster, "b").ElevateAsync("resize", "b to a", toNode: "a");
        Assert.Equal("a", await RanOnNodeAsync(cluster, log, nodes, back.Queue, back.JobId));

        var noHub = await Assert.ThrowsAsync<ArgumentException>(() => MarbleOn(cluster, "a").ElevateAsync("resize", "where to?"));
        Assert.Contains("no hub", noHub.Message);
        var table = await routing.GetAsync();
        Assert.Equal((RoutingMode.Mesh, (string?)null), (table.Mode, table.Hub));
    }

    [Fact]
    public async Task Invalid_routing_tables_are_refused_and_the_old_one_kept()
    {
        var (cluster, _, _) = await StartAsync();
        await using var __ = cluster;
        var routing = cluster.Client.GetGrain<IRoutingTableGrain>(RoutingTable.DefaultKey);
        await routing.ConfigureAsync(RoutingTable.SpokeAndWheel("hub"));
        var error = await Assert.ThrowsAsync<ArgumentException>(() => routing.ConfigureAsync(new RoutingTable { Mode = RoutingMode.SpokeAndWheel }));
        Assert.Contains("needs a Hub", error.Message);
        var kept = await routing.GetAsync();
        Assert.Equal((RoutingMode.SpokeAndWheel, "hub"), (kept.Mode, kept.Hub));
    }
}

public sealed class InMemoryElevationTests : ElevationTests<InMemoryProvider>;

public sealed class PostgresElevationTests : ElevationTests<PostgresProvider>;
