using Microsoft.Extensions.Options;
using Orleans.Jobs.Grains.Code;

namespace Orleans.Jobs.Silo.Gateway;

/// <summary>Who sent a request: the key's name (<c>ClusterKey</c> for <c>Gateway:ClusterKey</c>), its role and, for a node-bound worker key, its node.</summary>
public sealed record GatewayCaller(string Name, GatewayRole Role, string? Node)
{
    /// <summary>How messages describe the caller, never with its key.</summary>
    public override string ToString() => $"key '{Name}' ({Role.ToString().ToLowerInvariant()}{(Node is null ? "" : $", node {Node}")})";
}

/// <summary>
/// The gateway's keys, held as digests: tells which key a request sent. Closed until <see cref="Open"/> — the
/// <see cref="ExposedEndpointGuard"/> opens it once it has seen every address Kestrel bound — so no request is served
/// by a silo that is about to refuse to start.
/// </summary>
public sealed class GatewayKeys
{
    private readonly (KeyDigest Digest, GatewayCaller Caller)[] _keys;
    private volatile bool _open;

    /// <summary>Reads the keys of <paramref name="options"/>.</summary>
    public GatewayKeys(IOptions<GatewayOptions> options)
    {
        var gateway = options.Value;
        _keys = [.. gateway.Keys.Select(k => (new KeyDigest(k.Value.Key), new GatewayCaller(k.Key, k.Value.Role, k.Value.Node)))
            .Prepend((new KeyDigest(gateway.ClusterKey), new GatewayCaller("ClusterKey", GatewayRole.Admin, null)))];
    }

    /// <summary>True once every bound address has been checked.</summary>
    public bool IsOpen => _open;

    /// <summary>Starts serving keyed requests.</summary>
    public void Open() => _open = true;

    /// <summary>The caller whose key is <paramref name="sent"/>, or null for a missing or unknown key.</summary>
    public GatewayCaller? Identify(string? sent)
    {
        GatewayCaller? caller = null;
        foreach (var (digest, candidate) in _keys)
            if (digest.Matches(sent)) caller ??= candidate; // no early exit: the time says not which key matched
        return caller;
    }
}
