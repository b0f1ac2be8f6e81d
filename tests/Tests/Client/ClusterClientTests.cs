using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Jobs.Client.Hosting;
using Orleans.Jobs.Client.Queues;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Jobs.Silo.Hosting;

namespace Orleans.Jobs.Tests.Client;

/// <summary>.NET clients are Orleans clients: they connect to a silo's Orleans gateway, and a wrong cluster is refused clearly.</summary>
public sealed class ClusterClientTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static IHost Client(int gatewayPort, string clusterId, string serviceId)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.UseOrleansClient(client => client.UseOrleansJobs(builder.Configuration, o =>
        {
            o.Gateways = [$"127.0.0.1:{gatewayPort}"];
            (o.ClusterId, o.ServiceId) = (clusterId, serviceId);
        }));
        return builder.Build();
    }

    [Fact]
    public async Task A_client_on_the_Orleans_gateway_works_the_queue_with_Marble()
    {
        var gatewayPort = StockSilo.FreePort();
        await using var silo = await StockSilo.StartAsync([.. StockSilo.Arguments(), $"--Cluster:GatewayPort={gatewayPort}", "--Cluster:ClusterId=c1", "--Cluster:ServiceId=s1"],
            s => s.AddJobHandler("shout", (job, _) => Task.FromResult<string?>(job.Payload.ToUpperInvariant())));
        using var client = Client(gatewayPort, "c1", "s1");
        await client.StartAsync(Ct);
        try
        {
            var grains = client.Services.GetRequiredService<IClusterClient>();
            var marble = new Marble(grains);
            var id = await marble.SendAsync("shout", "hello");
            await Eventually.TrueAsync(async () => (await grains.GetGrain<Orleans.Jobs.Grains.Interfaces.IQueueGrain>("shout").GetJobAsync(id))?.Result == "HELLO", "the silo's worker to run the job");

            await marble.SendAsync("manual", "mine");
            var job = await marble.WaitAsync("manual", TimeSpan.FromSeconds(10), Ct);
            Assert.Equal("mine", job!.Data);
            await marble.FinishAsync("done");
        }
        finally
        {
            await client.StopAsync(Ct);
        }
    }

    [Fact]
    public async Task A_client_with_the_wrong_cluster_id_gets_a_clear_error()
    {
        var gatewayPort = StockSilo.FreePort();
        await using var silo = await StockSilo.StartAsync([.. StockSilo.Arguments(), $"--Cluster:GatewayPort={gatewayPort}", "--Cluster:ClusterId=right", "--Cluster:ServiceId=s1"]);
        using var client = Client(gatewayPort, "wrong", "s1");
        var error = await Eventually.WithinAsync(Assert.ThrowsAsync<ClusterConnectionException>(() => client.StartAsync(Ct)), "the client to give up", TimeSpan.FromSeconds(60));
        Assert.Contains("Orleans cluster 'wrong' (service 's1')", error.Message);
        Assert.Contains($"127.0.0.1:{gatewayPort}", error.Message);
        Assert.Contains("Cluster:ClusterId and Cluster:ServiceId must match", error.Message);
    }
}
