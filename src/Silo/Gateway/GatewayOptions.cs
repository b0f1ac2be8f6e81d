using System.Net;
using Microsoft.Extensions.Options;

namespace Orleans.Jobs.Silo.Gateway;

/// <summary>Options of a silo's HTTP gateway.</summary>
public sealed class GatewayOptions
{
    /// <summary>Default of <see cref="Port"/>.</summary>
    public const int DefaultPort = 7171;

    /// <summary>Default of <see cref="Host"/>: loopback only.</summary>
    public const string DefaultHost = "127.0.0.1";

    /// <summary>The development key, accepted only while the gateway listens on loopback.</summary>
    public const string DevelopmentClusterKey = "dev-cluster-key";

    /// <summary>Default of <see cref="MaxRequestBytes"/>: 64 MiB.</summary>
    public const long DefaultMaxRequestBytes = 64L * 1024 * 1024;

    /// <summary>The IP address to listen on. Use 0.0.0.0 to serve other nodes (then set a real <see cref="ClusterKey"/>).</summary>
    public string Host { get; set; } = DefaultHost;

    /// <summary>The TCP port; 0 picks a free one.</summary>
    public int Port { get; set; } = DefaultPort;

    /// <summary>The shared secret clients must send. The development key is refused on non-loopback addresses.</summary>
    public string ClusterKey { get; set; } = DevelopmentClusterKey;

    /// <summary>The largest request body; larger requests get 413 and change nothing.</summary>
    public long MaxRequestBytes { get; set; } = DefaultMaxRequestBytes;
}

internal sealed class GatewayOptionsValidator : IValidateOptions<GatewayOptions>
{
    public ValidateOptionsResult Validate(string? name, GatewayOptions options)
    {
        if (!IPAddress.TryParse(options.Host, out var address))
            return ValidateOptionsResult.Fail($"Gateway:Host must be an IP address such as 127.0.0.1 or 0.0.0.0 (was '{options.Host}').");
        if (options.Port is < 0 or > 65535)
            return ValidateOptionsResult.Fail($"Gateway:Port must be between 0 and 65535 (was {options.Port}).");
        if (string.IsNullOrEmpty(options.ClusterKey) || options.ClusterKey.Length > 512)
            return ValidateOptionsResult.Fail("Gateway:ClusterKey must be 1 to 512 characters.");
        if (!IPAddress.IsLoopback(address) && options.ClusterKey == GatewayOptions.DevelopmentClusterKey)
            return ValidateOptionsResult.Fail($"Gateway:ClusterKey must be set to a secret when the gateway listens on {options.Host}: the development key is only allowed on loopback.");
        if (options.MaxRequestBytes < 1024)
            return ValidateOptionsResult.Fail($"Gateway:MaxRequestBytes must be at least 1024 (was {options.MaxRequestBytes}).");
        return ValidateOptionsResult.Success;
    }
}
