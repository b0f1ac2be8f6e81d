using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Jobs.Client.Hosting;
using Orleans.Jobs.Grains.Interfaces;
using Orleans.Jobs.Silo.Gateway;
using Orleans.Jobs.Silo.Hosting;

namespace Orleans.Jobs.Tests.Gateway;

/// <summary>
/// One stock silo for a whole corpus, with work in every state to protect: in <see cref="Queue"/> an available, a
/// scheduled, a running (its lease an hour long, so it never expires mid-run), a completed and a dead-lettered job,
/// and a job running under its second claim (released and claimed again), whose first token is stale;
/// a job in the node-local <see cref="LocalQueue"/>; configured settings and a spoke-and-wheel routing table. It serves
/// the HTTP API, an Orleans client on its gateway, and the connection arguments of the <c>jobs</c> CLI.
/// </summary>
public abstract class CorpusSilo : IAsyncLifetime
{
    public const string Queue = "corpus";
    public const string EmptyQueue = "corpus-empty";
    public const string LocalQueue = "corpus@node-a";
    public const string Hub = "hub-a";

    /// <summary>Large enough for the 20 MB bodies of the corpus, small enough that a 25 MB one is refused.</summary>
    public const int MaxRequestBytes = 24 * 1024 * 1024;

    /// <summary>Every queue whose work <see cref="SnapshotAsync"/> compares: the ones the corpus aims at.</summary>
    public static readonly string[] WatchedQueues = [Queue, EmptyQueue, LocalQueue, "corpus-other"];

    public static readonly QueueSettings Settings = new()
    {
        MaxAttempts = 7, LeaseDuration = TimeSpan.FromMinutes(2), RetryDelay = TimeSpan.FromSeconds(3), MaxRetryDelay = TimeSpan.FromMinutes(9),
        MonitorPeriod = TimeSpan.FromSeconds(4), CompletedRetention = TimeSpan.FromDays(2), DeadLetterRetention = TimeSpan.FromDays(20), RetryPriorityDrop = 11,
    };

    private WebApplication _silo = null!;
    private IHost _client = null!;
    private readonly List<(string Queue, long Id)> _jobs = [];

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    protected virtual string[] StoreArguments() => [];

    public HttpClient Http { get; private set; } = null!;

    /// <summary>An Orleans client connected through the silo's Orleans gateway, as a .NET application would be.</summary>
    public IClusterClient Client { get; private set; } = null!;

    /// <summary>The CLI's arguments that reach this silo.</summary>
    public string[] CliConnection { get; private set; } = [];

    /// <summary>The seeded jobs and the running job's lease token, by the placeholder the corpus writes for each.</summary>
    public IReadOnlyDictionary<string, string> Placeholders { get; private set; } = new Dictionary<string, string>();

    public Seeded Work { get; private set; } = null!;

    /// <summary>The <see cref="SnapshotAsync"/> of the seeded work, which no case of a corpus may change.</summary>
    public string Baseline { get; private set; } = "";

    public async ValueTask InitializeAsync()
    {
        var (gatewayPort, id) = (StockSilo.FreePort(), $"corpus-{Guid.NewGuid():N}");
        _silo = await StockSilo.StartAsync([.. StockSilo.Arguments([$"--Gateway:MaxRequestBytes={MaxRequestBytes}", .. StoreArguments()]),
            $"--Cluster:GatewayPort={gatewayPort}", $"--Cluster:ClusterId={id}", $"--Cluster:ServiceId={id}"]);
        Http = new HttpClient { BaseAddress = _silo.GatewayUri(), Timeout = TimeSpan.FromSeconds(60) };
        Http.DefaultRequestHeaders.Add(GatewayProtocol.ClusterKeyHeader, StockSilo.ClusterKey);
        CliConnection = ["--gateway", $"127.0.0.1:{gatewayPort}", "--cluster-id", id, "--service-id", id];

        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.UseOrleansClient(client => client.UseOrleansJobs(builder.Configuration, o =>
        {
            o.Gateways = [$"127.0.0.1:{gatewayPort}"];
            (o.ClusterId, o.ServiceId) = (id, id);
        }));
        _client = builder.Build();
        await _client.StartAsync(Ct);
        Client = _client.Services.GetRequiredService<IClusterClient>();
        await SeedAsync();
        Baseline = await SnapshotAsync();
    }

    private async Task SeedAsync()
    {
        var queue = Client.GetGrain<IQueueGrain>(Queue);
        await queue.ConfigureAsync(Settings with { MaxAttempts = 1 });
        var running = await SendAndClaimAsync(queue, "running");
        var dead = await SendAndClaimAsync(queue, "dead");
        Assert.Equal(FailOutcome.DeadLettered, (await queue.FailAsync(dead.JobId, dead.LeaseToken, "seeded failure")).Outcome);
        var completed = await SendAndClaimAsync(queue, "completed");
        Assert.Equal(JobUpdateOutcome.Updated, await queue.FinishAsync(completed.JobId, completed.LeaseToken, "seeded result"));
        // Claimed, given back and claimed again: its first token is stale, as after any reclaim.
        var firstClaim = await SendAndClaimAsync(queue, "reclaimed");
        Assert.Equal(JobUpdateOutcome.Updated, await queue.ReleaseAsync(firstClaim.JobId, firstClaim.LeaseToken));
        var reclaimed = await ClaimAsync(queue, firstClaim.JobId);
        await queue.ConfigureAsync(Settings);
        var available = await queue.SendAsync("available");
        var scheduled = await queue.SendAsync("scheduled", new SendOptions { Delay = TimeSpan.FromDays(1) });
        var local = await Client.GetGrain<IQueueGrain>(LocalQueue).SendAsync("local");
        await Client.GetGrain<IRoutingTableGrain>(RoutingTable.DefaultKey).ConfigureAsync(RoutingTable.SpokeAndWheel(Hub));

        Work = new Seeded(available, scheduled, running.JobId, running.LeaseToken, completed.JobId, completed.LeaseToken, dead.JobId, dead.LeaseToken, local,
            reclaimed.JobId, firstClaim.LeaseToken);
        _jobs.AddRange([(Queue, available), (Queue, scheduled), (Queue, running.JobId), (Queue, completed.JobId), (Queue, dead.JobId), (LocalQueue, local), (Queue, reclaimed.JobId)]);
        Placeholders = new Dictionary<string, string>
        {
            ["{A}"] = $"{available}", ["{S}"] = $"{scheduled}", ["{R}"] = $"{running.JobId}", ["{RToken}"] = $"{running.LeaseToken}",
            ["{C}"] = $"{completed.JobId}", ["{CToken}"] = $"{completed.LeaseToken}", ["{D}"] = $"{dead.JobId}", ["{DToken}"] = $"{dead.LeaseToken}",
            ["{L}"] = $"{local}", ["{X}"] = $"{reclaimed.JobId}", ["{XStaleToken}"] = $"{firstClaim.LeaseToken}",
        };
    }

    private static async Task<ClaimedJob> SendAndClaimAsync(IQueueGrain queue, string payload) =>
        await ClaimAsync(queue, await queue.SendAsync(payload, new SendOptions { Priority = 1_000 }));

    /// <summary>Claims the one available job, <paramref name="id"/>, with a lease that outlasts the corpus.</summary>
    private static async Task<ClaimedJob> ClaimAsync(IQueueGrain queue, long id)
    {
        var claimed = Assert.Single(await queue.ClaimAsync(new ClaimOptions { Owner = "seed", LeaseDuration = TimeSpan.FromHours(1) }));
        Assert.Equal(id, claimed.JobId);
        return claimed;
    }

    /// <summary>Puts the seeded ids and tokens into a case's text.</summary>
    public string Fill(string text)
    {
        foreach (var (placeholder, value) in Placeholders) text = text.Replace(placeholder, value, StringComparison.Ordinal);
        return text;
    }

    /// <summary>
    /// Everything the corpus must leave alone, as text to compare: each watched queue's counts and dead letters, every
    /// seeded job in full, the queue's settings and the routing table.
    /// </summary>
    public async Task<string> SnapshotAsync()
    {
        var text = new StringBuilder();
        foreach (var name in WatchedQueues)
        {
            var queue = Client.GetGrain<IQueueGrain>(name);
            text.AppendLine($"{name}: {await queue.GetCountsAsync()}; dead letters {string.Join(",", (await queue.GetDeadLettersAsync(100)).Select(j => j.JobId))}");
        }

        foreach (var (queue, id) in _jobs)
            text.AppendLine(JsonSerializer.Serialize(await Client.GetGrain<IQueueGrain>(queue).GetJobAsync(id)));
        text.AppendLine(JsonSerializer.Serialize(await Client.GetGrain<IQueueGrain>(Queue).GetSettingsAsync()));
        text.AppendLine(JsonSerializer.Serialize(await Client.GetGrain<IRoutingTableGrain>(RoutingTable.DefaultKey).GetAsync()));
        return text.ToString();
    }

    /// <summary>Sends one request and reads the answer, within <paramref name="timeout"/>; <paramref name="chunked"/> sends the body without a length.</summary>
    public async Task<(HttpStatusCode Status, string Body)> PostAsync(byte[] body, string? contentType, string? clusterKey, TimeSpan timeout, bool chunked = false)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, GatewayProtocol.CallPath) { Content = new ByteArrayContent(body) };
        // A big body waits for the server's go-ahead, so a refusal by its length arrives instead of a broken pipe.
        request.Headers.ExpectContinue = body.Length > 1024 * 1024;
        if (chunked) request.Headers.TransferEncodingChunked = true;
        if (contentType is not null) request.Content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        if (clusterKey is not null)
        {
            request.Headers.Remove(GatewayProtocol.ClusterKeyHeader);
            if (clusterKey.Length > 0) request.Headers.TryAddWithoutValidation(GatewayProtocol.ClusterKeyHeader, clusterKey);
        }

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        deadline.CancelAfter(timeout);
        using var response = await SendAsync(request, clusterKey is null ? Http : null, deadline.Token);
        return (response.StatusCode, await response.Content.ReadAsStringAsync(deadline.Token));
    }

    private async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, HttpClient? withKey, CancellationToken cancellationToken)
    {
        if (withKey is not null) return await withKey.SendAsync(request, cancellationToken);
        using var bare = new HttpClient { BaseAddress = Http.BaseAddress };
        return await bare.SendAsync(request, cancellationToken);
    }

    /// <summary>True when the silo still answers its health probe and a valid call.</summary>
    public async Task AssertHealthyAsync()
    {
        using var health = await Http.GetAsync(GatewayProtocol.HealthPath, Ct);
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        var (status, body) = await PostAsync(Encoding.UTF8.GetBytes($$"""{"interface":"jobs.queue","key":"{{Queue}}","method":"get-counts","arguments":[]}"""),
            "application/json", null, TimeSpan.FromSeconds(30));
        Assert.True(status == HttpStatusCode.OK, body);
    }

    public virtual async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await _client.StopAsync(CancellationToken.None);
        _client.Dispose();
        await _silo.DisposeAsync();
    }
}

/// <summary>
/// The seeded jobs of a <see cref="CorpusSilo"/>, with the lease tokens their claims had; <see cref="Reclaimed"/> is
/// running under a second claim, and <see cref="ReclaimedStaleToken"/> is its first claim's token.
/// </summary>
public sealed record Seeded(
    long Available, long Scheduled, long Running, Guid RunningToken, long Completed, Guid CompletedToken, long Dead, Guid DeadToken, long Local,
    long Reclaimed, Guid ReclaimedStaleToken);

/// <summary>A corpus silo on the in-memory store.</summary>
public sealed class InMemoryCorpusSilo : CorpusSilo;

/// <summary>A corpus silo on PostgreSQL, in a schema of its own.</summary>
public sealed class PostgresCorpusSilo : CorpusSilo
{
    private readonly string _schema = TestPostgres.NewSchema();

    protected override string[] StoreArguments() => ["--connection", TestPostgres.ConnectionString, $"--Store:Schema={_schema}"];

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        await TestPostgres.DropSchemaAsync(_schema);
    }
}
