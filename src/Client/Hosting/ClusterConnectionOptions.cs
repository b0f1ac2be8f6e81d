using System.Net;
using Microsoft.Extensions.Options;

namespace Orleans.Jobs.Client.Hosting;

/// <summary>
/// Which Orleans cluster to join and how members find each other: the <c>Cluster</c> configuration section, read the
/// same way by silos and by .NET clients.
/// </summary>
public sealed class ClusterConnectionOptions
{
    /// <summary>The configuration section these options bind to.</summary>
    public const string Section = "Cluster";

    /// <summary>Default of <see cref="ClusterId"/> and <see cref="ServiceId"/>.</summary>
    public const string DefaultId = "orleans-jobs";

    /// <summary>Default of <see cref="GatewayPort"/> (Orleans' usual gateway port).</summary>
    public const int DefaultGatewayPort = 30000;

    /// <summary>Default of <see cref="SiloPort"/> (Orleans' usual silo port).</summary>
    public const int DefaultSiloPort = 11111;

    /// <summary>Orleans' cluster id: silos and clients of one deployment share it; a client with another one is refused.</summary>
    public string ClusterId { get; set; } = DefaultId;

    /// <summary>Orleans' service id: stays the same across deployments of one service (grain state and reminders are keyed by it).</summary>
    public string ServiceId { get; set; } = DefaultId;

    /// <summary>How members find each other. Auto: Redis when <see cref="Redis"/> is set, ADO.NET when the silo's job store is PostgreSQL, else localhost.</summary>
    public ClusteringKind Clustering { get; set; } = ClusteringKind.Auto;

    /// <summary>A StackExchange.Redis configuration string (such as <c>127.0.0.1:6379</c>) for Redis clustering.</summary>
    public string? Redis { get; set; }

    /// <summary>For clients: gateways to connect to (<c>host:port</c>) without a membership table (static clustering).</summary>
    public IList<string> Gateways { get; set; } = [];

    /// <summary>The silo-to-silo port.</summary>
    public int SiloPort { get; set; } = DefaultSiloPort;

    /// <summary>The port clients connect to (0: no gateway on this silo). Clients use it as the localhost gateway.</summary>
    public int GatewayPort { get; set; } = DefaultGatewayPort;

    /// <summary>For clients: how many times the first connection is tried, a second apart, before it fails with a clear error.</summary>
    public int ConnectAttempts { get; set; } = 5;

    /// <summary>The address other silos and clients reach this silo at (default 127.0.0.1; set a routable address for other nodes).</summary>
    public string AdvertisedAddress { get; set; } = IPAddress.Loopback.ToString();

    /// <summary>TLS between silos and clients (<c>Cluster:Tls</c>); off unless a certificate is set.</summary>
    public ClusterTlsOptions Tls { get; set; } = new();
}

/// <summary>How cluster members find each other.</summary>
public enum ClusteringKind
{
    /// <summary>Redis if configured, ADO.NET on the job store's PostgreSQL if that is the store, else localhost.</summary>
    Auto = 0,

    /// <summary>Orleans' development clustering on one machine: the embedded default.</summary>
    Localhost = 1,

    /// <summary>Orleans' Redis membership table (<see cref="ClusterConnectionOptions.Redis"/>).</summary>
    Redis = 2,

    /// <summary>Orleans' ADO.NET membership table in the job store's PostgreSQL database.</summary>
    AdoNet = 3,

    /// <summary>Clients only: the listed <see cref="ClusterConnectionOptions.Gateways"/>.</summary>
    Static = 4,

    /// <summary>Configured by the host itself (a TestCluster, Kubernetes hosting): Orleans.Jobs leaves clustering alone.</summary>
    External = 5,
}

internal sealed class ClusterConnectionOptionsValidator : IValidateOptions<ClusterConnectionOptions>
{
    public ValidateOptionsResult Validate(string? name, ClusterConnectionOptions options) =>
        ClusterConnectionRules.Check(options) is { } failure ? ValidateOptionsResult.Fail(failure) : ValidateOptionsResult.Success;
}

/// <summary>The rules of <see cref="ClusterConnectionOptions"/>, checked before a silo or client is built.</summary>
public static class ClusterConnectionRules
{
    /// <summary>The first broken rule, naming the setting; null when the options are valid.</summary>
    public static string? Check(ClusterConnectionOptions options)
    {
        if (string.IsNullOrWhiteSpace(options.ClusterId) || options.ClusterId.Length > 128)
            return "Cluster:ClusterId must be 1 to 128 characters.";
        if (string.IsNullOrWhiteSpace(options.ServiceId) || options.ServiceId.Length > 128)
            return "Cluster:ServiceId must be 1 to 128 characters.";
        if (!Enum.IsDefined(options.Clustering))
            return $"Cluster:Clustering must be one of {string.Join(", ", Enum.GetNames<ClusteringKind>())} (was {options.Clustering}).";
        if (options.Clustering == ClusteringKind.Redis && string.IsNullOrWhiteSpace(options.Redis))
            return "Cluster:Redis must be set (such as 127.0.0.1:6379) when Cluster:Clustering is Redis.";
        if (options.SiloPort is < 1 or > 65535)
            return $"Cluster:SiloPort must be between 1 and 65535 (was {options.SiloPort}).";
        if (options.GatewayPort is < 0 or > 65535)
            return $"Cluster:GatewayPort must be between 0 and 65535 (was {options.GatewayPort}).";
        if (!IPAddress.TryParse(options.AdvertisedAddress, out _))
            return $"Cluster:AdvertisedAddress must be an IP address (was '{options.AdvertisedAddress}').";
        if (options.ConnectAttempts is < 1 or > 1000)
            return $"Cluster:ConnectAttempts must be between 1 and 1000 (was {options.ConnectAttempts}).";
        foreach (var gateway in options.Gateways)
            if (!IPEndPoint.TryParse(gateway, out var endpoint) || endpoint.Port == 0)
                return $"Cluster:Gateways entry '{gateway}' must be an address and port such as 127.0.0.1:30000.";
        return options.Tls is null ? $"{ClusterTlsOptions.Section} must not be null (leave it out for no TLS)." : options.Tls.Check();
    }
}
