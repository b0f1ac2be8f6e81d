using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Jobs.Grains.Interfaces;
using Orleans.Jobs.Silo.Gateway;
using Orleans.Jobs.Silo.Hosting;

namespace Orleans.Jobs.Tests.Integration;

/// <summary>
/// Keys with roles on the HTTP gateway, through the silo's Kestrel: a worker key works queues but gets 403 naming the
/// admin role for settings, recovery, routing and dead letters; a node-local claim or an elevation proves its node
/// by the key it holds, never by a field it sends.
/// </summary>
public sealed class GatewayKeyTests : IAsyncLifetime
{
    private const string WorkerKey = "ci-worker-key";
    private const string EdgeAKey = "edge-a-worker-key";
    private const string OpsKey = "ops-admin-key";
    private WebApplication _silo = null!;
    private HttpClient _http = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        _silo = await StockSilo.StartAsync(StockSilo.Arguments(
            $"--Gateway:Keys:ci:Key={WorkerKey}", "--Gateway:Keys:ci:Role=worker",
            $"--Gateway:Keys:edge-a:Key={EdgeAKey}", "--Gateway:Keys:edge-a:Node=edge-a",
            $"--Gateway:Keys:ops:Key={OpsKey}", "--Gateway:Keys:ops:Role=Admin"));
        _http = new HttpClient { BaseAddress = _silo.GatewayUri() };
    }

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        await _silo.DisposeAsync();
    }

    private IGrainFactory Grains => _silo.Services.GetRequiredService<IGrainFactory>();

    private IQueueGrain Queue(string name) => Grains.GetGrain<IQueueGrain>(name);

    private async Task<(HttpStatusCode Status, JsonElement Body)> CallAsync(string key, string @interface, string grainKey, string method, params object?[] arguments)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, GatewayProtocol.CallPath)
        {
            Content = new StringContent(JsonSerializer.Serialize(new { @interface, key = grainKey, method, arguments }, GatewayProtocol.Json), Encoding.UTF8, "application/json"),
        };
        request.Headers.Add(GatewayProtocol.ClusterKeyHeader, key);
        using var response = await _http.SendAsync(request, Ct);
        var text = await response.Content.ReadAsStringAsync(Ct);
        return (response.StatusCode, text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone());
    }

    private static void AssertForbidden((HttpStatusCode Status, JsonElement Body) answer, string expected)
    {
        Assert.Equal(HttpStatusCode.Forbidden, answer.Status);
        Assert.Equal("System.UnauthorizedAccessException", answer.Body.GetProperty("type").GetString());
        Assert.Contains(expected, answer.Body.GetProperty("message").GetString());
    }

    [Fact]
    public void Every_served_method_has_a_role_in_the_one_table()
    {
        Assert.Equal(GrainAliases.Default.Served.Order(), GatewayAccess.RequiredRoles.Keys.Order());
    }

    [Fact]
    public async Task A_worker_key_works_its_queue_but_settings_recovery_routing_and_dead_letters_need_the_admin_role()
    {
        var (sent, id) = await CallAsync(WorkerKey, "jobs.queue", "roles", "send", "work");
        Assert.Equal(HttpStatusCode.OK, sent);
        var (_, claimed) = await CallAsync(WorkerKey, "jobs.queue", "roles", "claim", new { owner = "ci" });
        var token = Assert.Single(claimed.GetProperty("result").EnumerateArray()).GetProperty("leaseToken").GetGuid();
        Assert.Equal(HttpStatusCode.OK, (await CallAsync(WorkerKey, "jobs.queue", "roles", "renew-lease", id.GetProperty("result").GetInt64(), token)).Status);
        Assert.Equal(HttpStatusCode.OK, (await CallAsync(WorkerKey, "jobs.queue", "roles", "get-settings")).Status);
        Assert.Equal(HttpStatusCode.OK, (await CallAsync(WorkerKey, "jobs.routing", RoutingTable.DefaultKey, "get")).Status);

        var doomed = await Queue("roles").SendAsync("doomed", new SendOptions { MaxAttempts = 1 });
        var lease = (await Queue("roles").ClaimAsync(new ClaimOptions { Owner = "test" })).Single(j => j.JobId == doomed).LeaseToken;
        await Queue("roles").FailAsync(doomed, lease, "boom");
        var settings = await Queue("roles").GetSettingsAsync();
        var unmonitored = await Queue("roles").SendAsync("held by a gone worker");
        Assert.Contains(await Queue("roles").ClaimAsync(new ClaimOptions { Owner = "gone", Monitored = false }), j => j.JobId == unmonitored);

        AssertForbidden(await CallAsync(WorkerKey, "jobs.queue", "roles", "configure", new { maxAttempts = 1 }),
            "jobs.queue.configure needs the admin role; key 'ci' (worker) has the worker role.");
        AssertForbidden(await CallAsync(EdgeAKey, "jobs.queue", "roles", "recover-expired-leases"), "jobs.queue.recover-expired-leases needs the admin role; key 'edge-a' (worker, node edge-a)");
        AssertForbidden(await CallAsync(WorkerKey, "jobs.queue", "roles", "purge-dead-letters", [null]), "jobs.queue.purge-dead-letters needs the admin role");
        AssertForbidden(await CallAsync(WorkerKey, "jobs.queue", "roles", "requeue-dead-letter", doomed), "jobs.queue.requeue-dead-letter needs the admin role");
        AssertForbidden(await CallAsync(WorkerKey, "jobs.queue", "roles", "expire-unmonitored-jobs", "gone"),
            "jobs.queue.expire-unmonitored-jobs needs the admin role; key 'ci' (worker) has the worker role.");
        Assert.Equal(JobState.Running, (await Queue("roles").GetJobAsync(unmonitored))!.State);
        AssertForbidden(await CallAsync(WorkerKey, "jobs.routing", RoutingTable.DefaultKey, "configure", new { mode = "Custom" }), "jobs.routing.configure needs the admin role");
        Assert.Equal(settings, await Queue("roles").GetSettingsAsync());
        Assert.Equal(JobState.DeadLettered, (await Queue("roles").GetJobAsync(doomed))!.State);
        Assert.Equal(RoutingMode.Mesh, (await Grains.GetGrain<IRoutingTableGrain>(RoutingTable.DefaultKey).GetAsync()).Mode);

        // A named admin key and the cluster key (the admin key of old) may.
        Assert.Equal(HttpStatusCode.OK, (await CallAsync(OpsKey, "jobs.queue", "roles", "configure", settings with { MaxAttempts = 7 })).Status);
        Assert.Equal(7, (await Queue("roles").GetSettingsAsync()).MaxAttempts);
        Assert.Equal(HttpStatusCode.OK, (await CallAsync(StockSilo.ClusterKey, "jobs.queue", "roles", "purge-dead-letters", [null])).Status);
        var (expiredStatus, expired) = await CallAsync(OpsKey, "jobs.queue", "roles", "expire-unmonitored-jobs", "gone");
        Assert.Equal((HttpStatusCode.OK, 1), (expiredStatus, expired.GetProperty("result").GetInt32()));
        Assert.Equal(JobState.Available, (await Queue("roles").GetJobAsync(unmonitored))!.State);
        Assert.Null(await Queue("roles").GetJobAsync(doomed));
    }

    [Fact]
    public async Task A_node_local_claim_proves_its_node_by_its_key_not_by_the_node_it_names()
    {
        var mine = await Queue("local@edge-a").SendAsync("for edge-a");
        await Queue("local@edge-b").SendAsync("for edge-b");

        AssertForbidden(await CallAsync(WorkerKey, "jobs.queue", "local@edge-a", "claim", new { owner = "spoof", node = "edge-a" }),
            "jobs.queue.claim on node-local queue 'local@edge-a' needs a worker key bound to node 'edge-a' (Gateway:Keys:<name>:Node); key 'ci' (worker) is bound to no node.");
        AssertForbidden(await CallAsync(EdgeAKey, "jobs.queue", "local@edge-b", "claim", new { owner = "spoof", node = "edge-b" }),
            "needs a worker key bound to node 'edge-b' (Gateway:Keys:<name>:Node); key 'edge-a' (worker, node edge-a) is bound to node 'edge-a'.");
        AssertForbidden(await CallAsync(EdgeAKey, "jobs.queue", "local@edge-b", "wait", "00:00:01", new { owner = "spoof" }), "node-local queue 'local@edge-b'");
        AssertForbidden(await CallAsync(EdgeAKey, "jobs.queue", "cluster-wide", "claim", new { owner = "spoof", node = "edge-b" }),
            "ClaimOptions.node 'edge-b' is not the node of key 'edge-a' (worker, node edge-a)");
        AssertForbidden(await CallAsync(EdgeAKey, "jobs.queue", "local@edge-b", "send", "sneaked in"), "jobs.queue.send on node-local queue 'local@edge-b'");
        Assert.Equal(1, (await Queue("local@edge-a").GetCountsAsync()).Available);
        Assert.Equal(1, (await Queue("local@edge-b").GetCountsAsync()).Available);

        // The key bound to edge-a claims edge-a's job without naming its node: the key names it.
        var (status, claimed) = await CallAsync(EdgeAKey, "jobs.queue", "local@edge-a", "claim", new { owner = "edge-a-worker" });
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(mine, Assert.Single(claimed.GetProperty("result").EnumerateArray()).GetProperty("jobId").GetInt64());

        // An admin key acts for any node, as Orleans clients in the cluster do.
        var (adminStatus, adminClaim) = await CallAsync(OpsKey, "jobs.queue", "local@edge-b", "claim", new { owner = "ops", node = "edge-b" });
        Assert.Equal(HttpStatusCode.OK, adminStatus);
        Assert.Single(adminClaim.GetProperty("result").EnumerateArray());
    }

    [Fact]
    public async Task Elevation_proves_the_node_it_comes_from_by_its_key()
    {
        AssertForbidden(await CallAsync(EdgeAKey, "jobs.routing", RoutingTable.DefaultKey, "elevate", "edge-b", "up", "spoofed", "edge-c"),
            "jobs.routing.elevate from node 'edge-b' needs a worker key bound to that node (Gateway:Keys:<name>:Node); key 'edge-a' (worker, node edge-a) is bound to node 'edge-a'.");
        AssertForbidden(await CallAsync(WorkerKey, "jobs.routing", RoutingTable.DefaultKey, "elevate", "edge-a", "up", "spoofed", "edge-c"), "key 'ci' (worker) is bound to no node");
        Assert.Equal(0, (await Queue("up@edge-c").GetCountsAsync()).Available);

        var (status, elevated) = await CallAsync(EdgeAKey, "jobs.routing", RoutingTable.DefaultKey, "elevate", "edge-a", "up", "from edge-a", "edge-c");
        Assert.Equal(HttpStatusCode.OK, status);
        var job = await Queue("up@edge-c").GetJobAsync(elevated.GetProperty("result").GetProperty("jobId").GetInt64());
        Assert.Equal("from edge-a", job!.Payload);
    }

    [Fact]
    public async Task A_key_in_the_query_string_is_refused_even_when_the_header_is_right()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"{GatewayProtocol.ClusterPath}?key={OpsKey}");
        request.Headers.Add(GatewayProtocol.ClusterKeyHeader, OpsKey);
        using var response = await _http.SendAsync(request, Ct);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var text = await response.Content.ReadAsStringAsync(Ct);
        Assert.Contains("The gateway takes no query string", text);
        Assert.DoesNotContain(OpsKey, text);
    }
}
