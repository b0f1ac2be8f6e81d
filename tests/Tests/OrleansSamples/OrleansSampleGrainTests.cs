using Orleans.Jobs.Tests.Integration;
using Orleans.Runtime;

namespace Orleans.Jobs.Tests.OrleansSamples;

/// <summary>Orleans' HelloWorld grain and a stateful counter on an Orleans.Jobs TestCluster, on both deployments' grain storage.</summary>
public abstract class OrleansSampleGrainTests<TProvider> : ProviderScenarios<TProvider> where TProvider : IClusterProvider, new()
{
    [Fact]
    public async Task The_HelloWorld_grain_answers_as_in_the_Orleans_sample()
    {
        await using var cluster = Cluster(1).Build();
        await cluster.DeployAsync();
        var reply = await cluster.Client.GetGrain<IHelloGrain>("friend").SayHello("Good morning, HelloGrain!");
        Assert.Equal("\n Client said: 'Good morning, HelloGrain!', so HelloGrain says: Hello!", reply);
    }

    [Fact]
    public async Task A_counter_keeps_its_count_in_grain_state_across_deactivation()
    {
        await using var cluster = Cluster(2).Build();
        await cluster.DeployAsync();
        var counter = cluster.Client.GetGrain<ICounterGrain>("visits");
        for (var i = 1; i <= 3; i++) Assert.Equal(i, await counter.IncrementAsync());

        await cluster.Client.GetGrain<IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero, Ct);
        Assert.Equal(4, await counter.IncrementAsync());
    }
}

public sealed class InMemoryOrleansSampleGrainTests : OrleansSampleGrainTests<InMemoryProvider>;

public sealed class PostgresOrleansSampleGrainTests : OrleansSampleGrainTests<PostgresProvider>
{
    [Fact]
    public async Task A_counter_keeps_its_count_across_a_restart_of_every_silo()
    {
        await using var cluster = Cluster(1).Build();
        await cluster.DeployAsync();
        for (var i = 1; i <= 3; i++) await cluster.Client.GetGrain<ICounterGrain>("restarts").IncrementAsync();

        var replacement = await cluster.StartAdditionalSiloAsync();
        await cluster.StopSiloAsync(cluster.Primary); // the only silo that held it, and its memory, are gone
        var count = await Eventually.WithinAsync(JobsCluster.GrainsOn(replacement).GetGrain<ICounterGrain>("restarts").GetCountAsync(), "the counter on the new silo");
        Assert.Equal(3, count);
    }
}
