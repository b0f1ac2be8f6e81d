using System.Net;
using System.Net.Http.Json;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Jobs.Client.Hosting;
using Orleans.Jobs.Grains.Interfaces;
using Orleans.Jobs.Silo.Gateway;
using Orleans.Jobs.Silo.Hosting;
using Orleans.Runtime;
using Orleans.TestingHost;

namespace Orleans.Jobs.Tests.Integration;

/// <summary>
/// TLS with self-signed certificates the tests make: HTTPS on the gateway (plain HTTP to its port fails), and Orleans'
/// TLS between the silos of a TestCluster and its clients (a client without TLS, or with a certificate the silos do not
/// trust, cannot connect).
/// </summary>
public sealed class TlsTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task The_gateway_serves_https_with_its_certificate_and_plain_http_to_its_port_fails()
    {
        using var certificate = TestCertificate.Create("gateway");
        await using var silo = await StockSilo.StartAsync(StockSilo.Arguments(
            $"--Gateway:Certificate:Path={certificate.Path}", $"--Gateway:Certificate:Password={certificate.Password}"));
        var uri = silo.GatewayUri()!;
        Assert.Equal("https", uri.Scheme);

        using var pinned = new HttpClientHandler { ServerCertificateCustomValidationCallback = (_, served, _, _) => served is not null && ClusterTlsOptions.Fingerprint(served) == certificate.Fingerprint };
        using var https = new HttpClient(pinned) { BaseAddress = uri, Timeout = TimeSpan.FromSeconds(30) };
        https.DefaultRequestHeaders.Add(GatewayProtocol.ClusterKeyHeader, StockSilo.ClusterKey);
        var status = await https.GetFromJsonAsync<ClusterStatus>(GatewayProtocol.ClusterPath, GatewayProtocol.Json, Ct);
        Assert.Equal("in-memory", status!.Store);

        using var plain = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{uri.Port}"), Timeout = TimeSpan.FromSeconds(30) };
        await Assert.ThrowsAsync<HttpRequestException>(() => plain.GetAsync(GatewayProtocol.HealthPath, Ct));
    }

    [Fact]
    public async Task A_certificate_that_cannot_be_read_stops_the_silo_naming_the_setting_but_not_the_password()
    {
        using var certificate = TestCertificate.Create("gateway");
        var error = await StockSilo.RefusedAsync($"--Gateway:Certificate:Path={certificate.Path}", "--Gateway:Certificate:Password=not-the-password");
        Assert.Contains($"Gateway:Certificate:Path '{certificate.Path}' could not be read as a PKCS#12 (.pfx) certificate", error.Message);
        Assert.DoesNotContain("not-the-password", error.Message);
    }

    [Fact]
    public async Task Silos_talk_over_tls_to_a_tls_client_and_a_client_without_tls_or_trust_cannot_connect()
    {
        using var siloCertificate = TestCertificate.Create("silo");
        using var clientCertificate = TestCertificate.Create("client");
        using var stranger = TestCertificate.Create("stranger");
        var builder = new JobsClusterBuilder(2, StoreKind.InMemory)
            .Set("Cluster:Tls:CertificatePath", siloCertificate.Path)
            .Set("Cluster:Tls:CertificatePassword", siloCertificate.Password)
            .Set("Cluster:Tls:TrustedCertificates:0", siloCertificate.Fingerprint)
            .Set("Cluster:Tls:TrustedCertificates:1", clientCertificate.Fingerprint);
        builder.Inner.Options.InitializeClientOnDeploy = false; // TestCluster's own client knows no TLS
        builder.Inner.Options.ConnectionTransport = ConnectionTransportType.TcpSocket; // real sockets, which outside clients reach
        await using var cluster = builder.Build();
        await cluster.DeployAsync();

        ClusterTlsOptions Tls(TestCertificate certificate) => new()
        {
            CertificatePath = certificate.Path,
            CertificatePassword = certificate.Password,
            TrustedCertificates = [siloCertificate.Fingerprint],
        };

        using (var client = await ConnectAsync(cluster, Tls(clientCertificate)))
        {
            var grains = client.Services.GetRequiredService<IClusterClient>();
            await Eventually.TrueAsync(async () => (await grains.GetGrain<IManagementGrain>(0).GetHosts(onlyActive: true)).Count == 2, "both TLS silos to be active");
            var id = await grains.GetGrain<IQueueGrain>("tls").SendAsync("over tls");
            Assert.Equal("over tls", (await grains.GetGrain<IQueueGrain>("tls").GetJobAsync(id))!.Payload);
        }

        await Assert.ThrowsAsync<ClusterConnectionException>(() => ConnectAsync(cluster, new ClusterTlsOptions()));
        await Assert.ThrowsAsync<ClusterConnectionException>(() => ConnectAsync(cluster, Tls(stranger)));
    }

    /// <summary>Connects an Orleans client to the cluster's gateways with <paramref name="tls"/>, in at most two tries.</summary>
    private static async Task<IHost> ConnectAsync(JobsCluster cluster, ClusterTlsOptions tls)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.UseOrleansClient(client => client.UseOrleansJobs(configure: o =>
        {
            (o.ClusterId, o.ServiceId, o.ConnectAttempts, o.Tls) = (cluster.Orleans.Options.ClusterId, cluster.Orleans.Options.ServiceId, 2, tls);
            o.Gateways = [.. cluster.Silos.Select(s => s.GatewayAddress.Endpoint.ToString())];
        }));
        var host = builder.Build();
        try
        {
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(Ct);
            deadline.CancelAfter(TimeSpan.FromSeconds(60));
            await host.StartAsync(deadline.Token);
            return host;
        }
        catch
        {
            host.Dispose();
            throw;
        }
    }
}
