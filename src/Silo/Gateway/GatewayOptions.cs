using System.Net;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;
using Orleans.Jobs.Client.Hosting;
using Orleans.Jobs.Grains.Interfaces;

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

    /// <summary>The most <see cref="MaxRequestBytes"/> may be: a body is read into one array.</summary>
    public const long MaxMaxRequestBytes = 1L << 30;

    /// <summary>The longest key.</summary>
    public const int MaxKeyLength = 512;

    /// <summary>The IP address to listen on. Use 0.0.0.0 to serve other nodes (then every key must be a strong secret).</summary>
    public string Host { get; set; } = DefaultHost;

    /// <summary>The TCP port; 0 picks a free one.</summary>
    public int Port { get; set; } = DefaultPort;

    /// <summary>
    /// The shared secret with the admin role (kept for deployments from before named keys); silos also present it to
    /// each other for posted code. The development key is refused on non-loopback addresses.
    /// </summary>
    public string ClusterKey { get; set; } = DevelopmentClusterKey;

    /// <summary>Named keys with their roles (<c>Gateway:Keys:&lt;name&gt;:Key</c>, <c>:Role</c>, <c>:Node</c>).</summary>
    public Dictionary<string, GatewayKeyOptions> Keys { get; set; } = new(StringComparer.Ordinal);

    /// <summary>The largest request body; larger requests get 413 and change nothing.</summary>
    public long MaxRequestBytes { get; set; } = DefaultMaxRequestBytes;

    /// <summary>HTTPS for the gateway's endpoint (<c>Gateway:Certificate:Path</c>, <c>:Password</c>); plain HTTP when no path is set.</summary>
    public GatewayCertificateOptions Certificate { get; set; } = new();
}

/// <summary>The certificate of the gateway's HTTPS endpoint.</summary>
public sealed class GatewayCertificateOptions
{
    /// <summary>A PKCS#12 (.pfx) file with the certificate and its private key; null: plain HTTP.</summary>
    public string? Path { get; set; }

    /// <summary>The file's password, if it has one. A secret: never logged, never in a message.</summary>
    public string? Password { get; set; }
}

/// <summary>One named key of <see cref="GatewayOptions.Keys"/>.</summary>
public sealed class GatewayKeyOptions
{
    /// <summary>The secret callers send in the <see cref="GatewayProtocol.ClusterKeyHeader"/> header.</summary>
    public string Key { get; set; } = "";

    /// <summary>What the key may do.</summary>
    public GatewayRole Role { get; set; } = GatewayRole.Worker;

    /// <summary>For a worker key: the node it proves, the only node whose node-local queues it may claim and send to, and elevate from.</summary>
    public string? Node { get; set; }
}

/// <summary>What a gateway key may do. Each role includes the ones before it.</summary>
public enum GatewayRole
{
    /// <summary>Send, claim, renew, finish, fail, release, elevate and read.</summary>
    Worker = 1,

    /// <summary>Also change settings and routing, recover leases, requeue and purge dead letters, post code.</summary>
    Admin = 2,
}

internal sealed partial class GatewayOptionsValidator : IValidateOptions<GatewayOptions>
{
    public ValidateOptionsResult Validate(string? name, GatewayOptions options)
    {
        if (!IPAddress.TryParse(options.Host, out var address))
            return ValidateOptionsResult.Fail($"Gateway:Host must be an IP address such as 127.0.0.1 or 0.0.0.0 (was '{options.Host}').");
        if (options.Port is < 0 or > 65535)
            return ValidateOptionsResult.Fail($"Gateway:Port must be between 0 and 65535 (was {options.Port}).");
        if (options.MaxRequestBytes is < 1024 or > GatewayOptions.MaxMaxRequestBytes)
            return ValidateOptionsResult.Fail($"Gateway:MaxRequestBytes must be between 1024 and {GatewayOptions.MaxMaxRequestBytes} (1 GiB: a body is read into one buffer) (was {options.MaxRequestBytes}).");
        if (options.Certificate is null) return ValidateOptionsResult.Fail("Gateway:Certificate must not be null (leave it out for plain HTTP).");
        if (options.Certificate.Path is null && options.Certificate.Password is not null)
            return ValidateOptionsResult.Fail("Gateway:Certificate:Path must be set when Gateway:Certificate:Password is set.");
        var failure = CheckKeys(options)
            ?? (options.Certificate.Path is { } path ? PfxCertificate.Check(path, options.Certificate.Password, "Gateway:Certificate:Path") : null)
            ?? (IPAddress.IsLoopback(address) ? null : GatewayKeyRules.CheckExposed(options, $"Gateway:Host {options.Host}"));
        return failure is null ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failure);
    }

    private static string? CheckKeys(GatewayOptions options)
    {
        if (options.Keys is null) return "Gateway:Keys must not be null (leave it out for none).";
        var settingsByKey = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (setting, key) in GatewayKeyRules.Settings(options))
        {
            if (string.IsNullOrEmpty(key) || key.Length > GatewayOptions.MaxKeyLength)
                return $"{setting} must be 1 to {GatewayOptions.MaxKeyLength} characters.";
            if (!settingsByKey.TryAdd(key, setting))
                return $"{setting} must differ from {settingsByKey[key]}: one key has one role.";
        }

        foreach (var (keyName, key) in options.Keys)
        {
            if (!KeyName().IsMatch(keyName))
                return $"Gateway:Keys name '{keyName}' is invalid: use 1 to 64 characters from A-Z, a-z, 0-9, '.', '_' and '-'.";
            if (key is null) return $"Gateway:Keys:{keyName} must have a Key.";
            if (!Enum.IsDefined(key.Role))
                return $"Gateway:Keys:{keyName}:Role must be one of {string.Join(", ", Enum.GetNames<GatewayRole>())} (was {key.Role}).";
            if (key.Node is null) continue;
            if (key.Role != GatewayRole.Worker)
                return $"Gateway:Keys:{keyName}:Node binds worker keys only: an {key.Role} key acts for every node.";
            try
            {
                QueueLimits.ValidateNodeName(key.Node, $"Gateway:Keys:{keyName}:Node");
            }
            catch (ArgumentException e)
            {
                return e.Message; // names the setting as its parameter
            }
        }

        return null;
    }

    [GeneratedRegex("^[A-Za-z0-9._-]{1,64}$")]
    private static partial Regex KeyName();
}
