using Microsoft.Extensions.DependencyInjection;
using Orleans.Jobs.Client.WorkStreams;
using Orleans.Jobs.Grains.Interfaces.WorkStreams;
using Orleans.Jobs.Silo.WorkStreams;
using Orleans.TestingHost;

namespace Orleans.Jobs.Tests.WorkStreams;

/// <summary>The Node role of every silo: per-node caps, property changes mid-run, and tracking only streams with work.</summary>
public abstract partial class WorkStreamClusterTests
{
    private static WorkStreamNode Node(SiloHandle silo) => JobsCluster.Services(silo).GetRequiredService<WorkStreamNode>();

    /// <summary>Opens a new stream with <paramref name="stages"/> (<c>start</c> and <c>stage1</c> when none are given).</summary>
    private async Task<(string Id, IWorkStreamGrain Stream)> NewStreamAsync(string what, WorkStreamProperties properties, params string[] stages)
    {
        var id = NewId(what);
        var stream = Grains.GetGrain<IWorkStreamGrain>(id);
        Assert.True((await stream.OpenAsync(new WorkStreamDefinition(stages.Length > 0 ? stages : ["start", "stage1"], properties))).Created);
        return (id, stream);
    }

    [Fact]
    public async Task Each_node_runs_at_most_MaxWorkersPerNode_forks_at_once_and_a_raised_cap_and_frequency_reach_the_nodes_mid_run()
    {
        var probes = await fixture.Probes;
        using var gate = new ForkGate();
        var silos = fixture.Cluster.Silos.Select(JobsCluster.Owner).ToList();
        // One worker per node, and a new one every 100 s at most: only the property change brings more soon.
        var (id, stream) = await NewStreamAsync("cap", new WorkStreamProperties { MaxWorkersPerNode = 1, SpawnFrequency = 0.01 });
        await stream.ForkAsync("start", 0, [.. Enumerable.Range(0, 20).Select(_ => probes.Hold(gate))]);

        await Eventually.TrueAsync(() => silos.All(s => gate.Inside(s) == 1), "one fork to wait at the gate on each node");
        Assert.All(silos, s => Assert.Equal(1, gate.Peak(s)));

        var raised = await stream.UpdatePropertiesAsync(new WorkStreamPropertyChanges { MaxWorkersPerNode = 3, SpawnFrequency = 50 });
        Assert.Equal(new WorkStreamProperties { MaxWorkersPerNode = 3, SpawnFrequency = 50 }, raised); // the others stay
        await Eventually.TrueAsync(() => silos.All(s => gate.Inside(s) == 3), "three forks to wait at the gate on each node once the cap was raised");
        Assert.All(fixture.Cluster.Silos, silo => Assert.Equal(3, Node(silo).Tracked[id]));

        gate.Open();
        var records = await stream.RecordsAsync("stage1", 20);
        Assert.All(records, r =>
        {
            Assert.Equal(ForkStatus.Ready, r.Status);
            Assert.StartsWith(r.ResultAs<string>() + "/", r.Worker); // the silo the function saw is the worker's
        });
        Assert.Equal(silos.Order(), gate.Silos.Order());
        Assert.Equal(20, silos.Sum(gate.Entered));
        Assert.All(silos, s => Assert.Equal(3, gate.Peak(s))); // never more, while forks waited and the spawner ran 50 times a second
        await stream.CloseAsync();
    }

    [Fact]
    public async Task A_stream_leaves_the_directory_after_its_idle_timeout_and_the_nodes_stop_tracking_it_until_it_forks_again()
    {
        var probes = await fixture.Probes;
        using var gate = new ForkGate();
        var (id, stream) = await NewStreamAsync("idle", new WorkStreamProperties { IdleTimeout = WorkStreamRules.MinIdleTimeout });
        var directory = Grains.GetGrain<IWorkStreamDirectoryGrain>(0);
        bool Tracked(SiloHandle silo) => Node(silo).Tracked.ContainsKey(id);
        Assert.DoesNotContain(await directory.ListAsync(), s => s.StreamId == id); // open, but nothing forked: nothing for the nodes to do

        await stream.ForkAsync("start", 0, [probes.Hold(gate), probes.Square(4)]);
        var listed = Assert.Single(await directory.ListAsync(), s => s.StreamId == id);
        Assert.Equal(WorkStreamRules.MinIdleTimeout, listed.Properties.IdleTimeout);
        // The held fork is outstanding, so the stream cannot go idle: every node comes to track it.
        await Eventually.TrueAsync(() => fixture.Cluster.Silos.All(Tracked), "every node to track the stream");

        gate.Open();
        Assert.Equal(2, (await stream.RecordsAsync("stage1", 2)).Count);
        await Eventually.TrueAsync(async () => !(await directory.ListAsync()).Any(s => s.StreamId == id), "the idle stream to leave the directory");
        await Eventually.TrueAsync(() => !fixture.Cluster.Silos.Any(Tracked), "every node to stop tracking the idle stream");
        Assert.False((await stream.GetInfoAsync())!.Closed); // idle is not closed: its records stay and it may fork again

        await stream.ForkAsync("start", 2, [probes.Square(5)]);
        Assert.Contains(await directory.ListAsync(), s => s.StreamId == id);
        var records = await stream.RecordsAsync("stage1", 3);
        Assert.Equal(25, records[^1].ResultAs<int>());
        await stream.CloseAsync();
        Assert.DoesNotContain(await directory.ListAsync(), s => s.StreamId == id);
    }
}
