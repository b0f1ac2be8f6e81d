using System.CommandLine;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Jobs.Client.Hosting;

namespace Orleans.Jobs.Cli.Connection;

/// <summary>
/// An Orleans client connected to the cluster the options name: the <c>Cluster</c> settings from the environment
/// (<c>ORLEANSJOBS_Cluster__...</c>, TLS included) with the command line on top. Failing to connect is an
/// <see cref="OperationFailedException"/> naming the cluster, where it looked and what to check.
/// </summary>
internal sealed class ClusterConnection : IAsyncDisposable
{
    private readonly IHost _host;

    private ClusterConnection(IHost host) => _host = host;

    public IClusterClient Client => _host.Services.GetRequiredService<IClusterClient>();

    public static async Task<ClusterConnection> ConnectAsync(ParseResult parse, CancellationToken cancellationToken)
    {
        var configuration = new ConfigurationBuilder().AddEnvironmentVariables("ORLEANSJOBS_").Build();
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Logging.ClearProviders();
        IHost host;
        try
        {
            builder.UseOrleansClient(client => client.UseOrleansJobs(configuration, options => Apply(parse, options)));
            host = builder.Build();
        }
        catch (OptionsValidationException e)
        {
            throw new UsageException(e.Message);
        }

        try
        {
            await host.StartAsync(cancellationToken);
            return new ClusterConnection(host);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            host.Dispose();
            throw new OperationFailedException(e switch
            {
                ClusterConnectionException { CertificateRefusal: not null } => $"{e.Message} Pass --ca-file with the silos' CA certificate (or a silo's self-signed certificate) to trust it.",
                ClusterConnectionException => e.Message,
                _ => $"Could not connect to the cluster: {e.Message}",
            }, e);
        }
    }

    private static void Apply(ParseResult parse, ClusterConnectionOptions options)
    {
        if (parse.GetValue(ConnectionOptions.Gateways) is { Length: > 0 } gateways) options.Gateways = [.. gateways];
        if (parse.GetValue(ConnectionOptions.ClusterId) is { } clusterId) options.ClusterId = clusterId;
        if (parse.GetValue(ConnectionOptions.ServiceId) is { } serviceId) options.ServiceId = serviceId;
        if (parse.GetValue(ConnectionOptions.Redis) is { } redis) options.Redis = redis;
        if (parse.GetValue(ConnectionOptions.ConnectAttempts) is { } attempts) options.ConnectAttempts = attempts;
        if (parse.GetValue(ConnectionOptions.CaFile) is { } caFile)
        {
            if (!options.Tls.IsEnabled)
                throw new UsageException($"--ca-file trusts the silos' TLS certificate, and TLS also needs this client's own: set {ConnectionOptions.TlsCertificateVariable} to its .pfx file (and ORLEANSJOBS_Cluster__Tls__CertificatePassword if it has one).");
            options.Tls.CaFile = caFile.FullName;
        }
    }

    public async ValueTask DisposeAsync()
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            await _host.StopAsync(deadline.Token);
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
        {
            // leaving anyway: the cluster notices a gone client by itself
        }

        _host.Dispose();
    }
}
