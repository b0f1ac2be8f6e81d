using System.Net;
using System.Net.Http.Json;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Jobs.Client;
using Orleans.Jobs.Client.Gateway;
using Orleans.Jobs.Grains.Interfaces;
using Orleans.Jobs.Runtime.Jobs;
using Orleans.Jobs.Silo.Gateway;
using Orleans.Jobs.Silo.Testing;

namespace Orleans.Jobs.Tests.Integration;

/// <summary>Clients talking to silos over the HTTP gateway.</summary>
public sealed class GatewayTests : IAsyncLifetime
{
    private const int MaxRequestBytes = 64 * 1024;
    private TestCluster _cluster = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        _cluster = FastCluster.Create(2).ConfigureSilo(s => s.Services.Configure<GatewayOptions>(o => o.MaxRequestBytes = MaxRequestBytes)).Build();
        await _cluster.DeployAsync();
    }

    public ValueTask DisposeAsync() => _cluster.DisposeAsync();

    private IQueueGrain Queue(string name) => _cluster.Client.GetGrain<IQueueGrain>(name);

    [Fact]
    public async Task A_wrong_cluster_key_gets_a_clear_error_and_changes_nothing()
    {
        using var stranger = _cluster.CreateGatewayClient("not-the-key");
        var error = await Assert.ThrowsAsync<ClusterKeyRejectedException>(() => stranger.ConnectAsync(Ct));
        Assert.Contains("rejected this client's cluster key", error.Message);
        await Assert.ThrowsAsync<ClusterKeyRejectedException>(() => stranger.GetGrain<IQueueGrain>("secure").SendAsync("sneaky"));
        Assert.Equal(0, (await Queue("secure").GetCountsAsync()).Available);
    }

    [Fact]
    public async Task The_cluster_status_lists_every_silo_with_its_heartbeat()
    {
        using var client = _cluster.CreateGatewayClient();
        var status = await client.GetClusterStatusAsync(Ct);
        Assert.Equal("in-memory", status.Store);
        Assert.Equal(_cluster.Silos.Select(s => s.SiloId).Order(), status.Silos.Where(s => s.Status == "Active").Select(s => s.SiloId).Order());
    }

    [Fact]
    public async Task Calls_fail_over_to_the_next_gateway_when_a_silo_is_gone()
    {
        using var client = _cluster.CreateGatewayClient(); // knows both gateways
        await _cluster.KillSiloAsync(_cluster.Silos[0]);
        var queue = client.GetGrain<IQueueGrain>("failover");
        for (var i = 0; i < 6; i++) await queue.SendAsync($"job {i}");
        Assert.Equal(6, (await Queue("failover").GetCountsAsync()).Available);

        await _cluster.KillSiloAsync(_cluster.Silos[0]);
        var error = await Assert.ThrowsAsync<GatewayUnavailableException>(() => queue.SendAsync("nobody home"));
        Assert.Contains("No gateway could take the call", error.Message);
    }

    [Fact]
    public async Task Argument_errors_come_back_as_argument_exceptions_naming_the_field()
    {
        using var client = _cluster.CreateGatewayClient();
        var queue = client.GetGrain<IQueueGrain>("remote");
        var range = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => queue.FinishAsync(-5, Guid.NewGuid()));
        Assert.Equal("jobId", range.ParamName);
        Assert.Contains("Job ids are positive numbers.", range.Message);
        var name = await Assert.ThrowsAsync<ArgumentException>(() => client.GetGrain<IQueueGrain>("bad/name").SendAsync("x"));
        Assert.Contains("Queue name 'bad/name' is invalid", name.Message);
    }

    [Fact]
    public async Task An_oversized_request_is_refused_and_stores_nothing()
    {
        using var client = _cluster.CreateGatewayClient();
        await client.GetGrain<IQueueGrain>("big").SendAsync("small");
        var error = await Assert.ThrowsAsync<ArgumentException>(() => client.GetGrain<IQueueGrain>("big").SendAsync(new string('x', MaxRequestBytes * 2)));
        Assert.Contains("too large", error.Message, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(1, (await Queue("big").GetCountsAsync()).Available);
    }

    public static TheoryData<string, string> MalformedCalls() => new()
    {
        { "{not json", "not a valid grain call" },
        { """{"interface":"Orleans.Jobs.Grains.Interfaces.IQueueGrain","key":"q"}""", "needs 'interface', 'key', 'method' and 'arguments'" },
        { """{"interface":"No.Such.IGrain","key":"q","method":"SendAsync","arguments":[]}""", "Unknown grain interface 'No.Such.IGrain'" },
        { """{"interface":"Orleans.Jobs.Grains.Interfaces.IQueueGrain","key":"q","method":"Explode","arguments":[]}""", "has no method 'Explode'" },
        { """{"interface":"Orleans.Jobs.Grains.Interfaces.IQueueGrain","key":"q","method":"SendAsync","arguments":["x"]}""", "takes 2 arguments; the call sent 1" },
        { """{"interface":"Orleans.Jobs.Grains.Interfaces.IQueueGrain","key":"q","method":"FinishAsync","arguments":[1,"not-a-guid",null]}""", "Argument 'leaseToken'" },
        { """{"interface":"Orleans.Jobs.Grains.Interfaces.IQueueGrain","key":"q","method":"FinishAsync","arguments":[null,"00000000-0000-0000-0000-000000000001",null]}""", "Argument 'jobId' of IQueueGrain.FinishAsync is not a valid Int64" },
        { """{"interface":"Orleans.Jobs.Grains.Interfaces.IQueueGrain","key":"","method":"SendAsync","arguments":["x",null]}""", "grain key must not be empty" },
    };

    [Theory]
    [MemberData(nameof(MalformedCalls))]
    public async Task Malformed_calls_get_400_with_a_message_naming_the_problem(string body, string expected)
    {
        await Queue("q").SendAsync("existing");
        using var http = new HttpClient { BaseAddress = _cluster.Primary.GatewayUri };
        using var request = new HttpRequestMessage(HttpMethod.Post, GatewayProtocol.CallPath) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Add(GatewayProtocol.ClusterKeyHeader, "test-cluster-key");
        using var response = await http.SendAsync(request, Ct);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = await response.Content.ReadFromJsonAsync<GatewayError>(GatewayProtocol.Json, Ct);
        Assert.Contains(expected, error!.Message);
        Assert.Equal(new QueueCounts(1, 0, 0, 0, 0), await Queue("q").GetCountsAsync());
    }

    [Fact]
    public async Task Requests_without_the_key_get_401_but_the_health_probe_needs_none()
    {
        using var http = new HttpClient { BaseAddress = _cluster.Primary.GatewayUri };
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync(GatewayProtocol.ClusterPath, Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(GatewayProtocol.HealthPath, Ct)).StatusCode);

        // A grain call with a key of the right length but the wrong content changes nothing.
        using var request = new HttpRequestMessage(HttpMethod.Post, GatewayProtocol.CallPath)
        {
            Content = new StringContent("""{"interface":"Orleans.Jobs.Grains.Interfaces.IQueueGrain","key":"guarded","method":"SendAsync","arguments":["x",null]}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Add(GatewayProtocol.ClusterKeyHeader, "test-cluster-kez");
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.SendAsync(request, Ct)).StatusCode);
        Assert.Equal(0, (await Queue("guarded").GetCountsAsync()).Available);
    }

    [Fact]
    public void A_client_without_gateways_or_key_is_refused_with_what_is_missing()
    {
        var noGateway = Assert.Throws<Microsoft.Extensions.Options.OptionsValidationException>(() => new ClusterClient(new ClientOptions { ClusterKey = "k" }));
        Assert.Contains("must name at least one gateway", noGateway.Message);
        var noKey = Assert.Throws<Microsoft.Extensions.Options.OptionsValidationException>(() => new ClusterClient(new ClientOptions { Gateways = { new Uri("http://127.0.0.1:1") } }));
        Assert.Contains("ClusterKey must be set", noKey.Message);
    }
}
