using System.Net;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Hosting;

namespace Orleans.Jobs.Client.Hosting;

/// <summary>Connects an Orleans client to an Orleans.Jobs cluster.</summary>
public static class ClientBuilderExtensions
{
    /// <summary>
    /// Configures the client from the <c>Cluster</c> section of <paramref name="configuration"/> (see
    /// <see cref="ClusterConnectionOptions"/>), then <paramref name="configure"/>: Redis clustering when
    /// <c>Cluster:Redis</c> is set, the listed <c>Cluster:Gateways</c>, or the localhost gateway. For ADO.NET clustering,
    /// call Orleans' <c>UseAdoNetClustering</c> yourself (it needs your ADO.NET driver, which this package does not bring).
    /// </summary>
    /// <exception cref="OptionsValidationException">A setting is invalid; the message names it.</exception>
    public static IClientBuilder UseOrleansJobs(this IClientBuilder client, IConfiguration? configuration = null, Action<ClusterConnectionOptions>? configure = null)
    {
        var options = new ClusterConnectionOptions();
        configuration?.GetSection(ClusterConnectionOptions.Section).Bind(options);
        configure?.Invoke(options);
        if (ClusterConnectionRules.Check(options) is { } failure)
            throw new OptionsValidationException(ClusterConnectionOptions.Section, typeof(ClusterConnectionOptions), [failure]);

        client.Configure<ClusterOptions>(o => (o.ClusterId, o.ServiceId) = (options.ClusterId, options.ServiceId));
        var trust = options.Tls.IsEnabled ? options.Tls.Trust() : null;
        client.UseConnectionRetryFilter(new ClusterConnectionRetry(options, trust));
        if (trust is not null) client.UseTls(options.Tls.ToOrleans(trust));
        var kind = options.Clustering == ClusteringKind.Auto
            ? !string.IsNullOrWhiteSpace(options.Redis) ? ClusteringKind.Redis : options.Gateways.Count > 0 ? ClusteringKind.Static : ClusteringKind.Localhost
            : options.Clustering;
        switch (kind)
        {
            case ClusteringKind.Redis:
                client.UseRedisClustering(options.Redis!);
                break;
            case ClusteringKind.Static:
                client.UseStaticClustering([.. options.Gateways.Select(IPEndPoint.Parse)]);
                break;
            case ClusteringKind.Localhost:
                client.UseLocalhostClustering(options.GatewayPort == 0 ? ClusterConnectionOptions.DefaultGatewayPort : options.GatewayPort, options.ServiceId, options.ClusterId);
                break;
            case ClusteringKind.AdoNet:
            case ClusteringKind.External:
                break; // configured by the caller
        }

        return client;
    }
}
