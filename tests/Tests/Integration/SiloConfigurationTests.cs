using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Jobs.Silo.Gateway;
using Orleans.Jobs.Silo.Hosting;

namespace Orleans.Jobs.Tests.Integration;

/// <summary>
/// Every documented way to configure a silo, on the stock executable (a child process) and on a user's own host, each
/// checked against what the running silo reports; and bad configuration stops the silo naming the setting.
/// </summary>
public sealed class SiloConfigurationTests : PostgresSchemaTest
{
    [Theory]
    [InlineData("--Gateway:Host=0.0.0.0 --Gateway:ClusterKey=dev-cluster-key", "the development key is only allowed on loopback")]
    [InlineData("--Gateway:Host=example.com", "Gateway:Host must be an IP address")]
    [InlineData("--Workers:MaxConcurrency=0", "WorkerOptions.MaxConcurrency must be between 1 and 10000")]
    [InlineData("--Queues:Defaults:MaxAttempts=0", "QueueOptions.Defaults: MaxAttempts must be between 1 and 1000")]
    [InlineData("--PostedCode:CheckPeriod=00:00:00", "PostedCodeOptions.CheckPeriod must be between 00:00:00.1000000 and 01:00:00 (was 00:00:00)")]
    [InlineData("--Silo:Node=bad/name", "Node name 'bad/name' is invalid")]
    [InlineData("--Cluster:Clustering=Redis", "Cluster:Redis must be set")]
    [InlineData("--Cluster:Clustering=AdoNet", "Cluster:Clustering AdoNet needs the PostgreSQL job store")]
    [InlineData("--Store:ConnectionString=Host=x;BogusKey=1", "not a valid Npgsql connection string")]
    public async Task Bad_configuration_stops_the_silo_with_a_message_naming_the_setting(string argument, string expected)
    {
        var error = await StockSilo.RefusedAsync(argument.Split(' '));
        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public async Task The_stock_executable_given_a_connection_switch_runs_on_postgresql()
    {
        var status = await StockExecutableStatusAsync(["--connection", TestPostgres.ConnectionString, $"--Store:Schema={Schema}", "--node", "edge-9"], []);
        Assert.Equal(("postgresql", "edge-9"), (status.Store, status.Node));
    }

    [Fact]
    public async Task The_stock_executable_reads_prefixed_environment_variables()
    {
        var status = await StockExecutableStatusAsync([], new()
        {
            ["ORLEANSJOBS_Store__ConnectionString"] = TestPostgres.ConnectionString,
            ["ORLEANSJOBS_Store__Schema"] = Schema,
        });
        Assert.Equal("postgresql", status.Store);
    }

    [Fact]
    public async Task A_custom_host_built_with_SiloHost_takes_the_same_switches()
    {
        await using var app = await StockSilo.StartAsync(StockSilo.Arguments("--node", "edge-7", "--connection", TestPostgres.ConnectionString, $"--Store:Schema={Schema}"),
            silo => silo.AddJobHandler("custom", (_, _) => Task.FromResult<string?>(null)));
        var status = app.Services.GetRequiredService<JobsSiloStatus>();
        Assert.Equal(("edge-7", "postgresql", Schema), (status.Node, status.Store, status.Schema));
        Assert.Contains("AdoNet", status.MembershipTable); // PostgreSQL alone: membership in the same database
    }

    [Fact]
    public async Task Any_host_builder_takes_AddOrleansJobs_with_configuration_and_code()
    {
        var builder = Host.CreateApplicationBuilder(StockSilo.Arguments("--Silo:Node=plain-host", "--Workers:MaxConcurrency=5"));
        builder.Logging.ClearProviders();
        builder.UseOrleans(silo => silo.AddOrleansJobs(jobs => jobs.UsePostgresStore(o => (o.ConnectionString, o.Schema) = (TestPostgres.ConnectionString, Schema))));
        using var host = builder.Build();
        await host.StartAsync(Ct);
        try
        {
            var status = host.Services.GetRequiredService<JobsSiloStatus>();
            Assert.Equal(("plain-host", "postgresql", 5), (status.Node, status.Store, status.Workers.MaxConcurrency));
        }
        finally
        {
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            await host.StopAsync(deadline.Token);
        }
    }

    [Fact]
    public async Task The_embedded_default_is_localhost_clustering_and_the_in_memory_store()
    {
        await using var app = await StockSilo.StartAsync(StockSilo.Arguments());
        var status = app.Services.GetRequiredService<JobsSiloStatus>();
        Assert.Equal(("in-memory", (string?)null), (status.Store, status.Schema));
        Assert.DoesNotContain("AdoNet", status.MembershipTable);
    }

    /// <summary>Runs the stock silo executable serving, asks its HTTP gateway for the cluster status, and stops it.</summary>
    private static async Task<ClusterStatus> StockExecutableStatusAsync(string[] arguments, Dictionary<string, string> environment)
    {
        var port = StockSilo.FreePort();
        await using var silo = ChildProcess.StartDotnet("Orleans.Jobs.Silo.dll", environment,
            ["--serve", "--skip-sample", "--port", port.ToString(), "--cluster-key", StockSilo.ClusterKey,
             $"--Cluster:SiloPort={StockSilo.FreePort()}", $"--Cluster:GatewayPort={StockSilo.FreePort()}", .. arguments]);
        await silo.ReadLineStartingWithAsync("Serving", "the stock silo to serve", TimeSpan.FromSeconds(90));
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        http.DefaultRequestHeaders.Add(GatewayProtocol.ClusterKeyHeader, StockSilo.ClusterKey);
        return (await http.GetFromJsonAsync<ClusterStatus>(GatewayProtocol.ClusterPath, GatewayProtocol.Json, Ct))!;
    }
}
