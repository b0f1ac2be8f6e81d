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
/// (<c>ORLEANSJOBS_Cluster__...</c>) with the command line on top. Failing to connect is an
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
            throw new OperationFailedException(e is ClusterConnectionException ? e.Message : $"Could not connect to the cluster: {e.Message}", e);
        }
    }

    private static void Apply(ParseResult parse, ClusterConnectionOptions options)
    {
        if (parse.GetValue(ConnectionOptions.Gateways) is { Length: > 0 } gateways) options.Gateways = [.. gateways];
        if (parse.GetValue(ConnectionOptions.ClusterId) is { } clusterId) options.ClusterId = clusterId;
        if (parse.GetValue(ConnectionOptions.ServiceId) is { } serviceId) options.ServiceId = serviceId;
        if (parse.GetValue(ConnectionOptions.Redis) is { } redis) options.Redis = redis;
        if (parse.GetValue(ConnectionOptions.ConnectAttempts) is { } attempts) options.ConnectAttempts = attempts;
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
