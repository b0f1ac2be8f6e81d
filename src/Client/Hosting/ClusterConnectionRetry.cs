namespace Orleans.Jobs.Client.Hosting;

/// <summary>
/// Bounds a client's first connection: a few tries a second apart, then a <see cref="ClusterConnectionException"/> that
/// says what to check. Orleans refuses a client of another cluster at the handshake, which the client sees only as a
/// failed connection, so the message names the cluster id, service id and gateways this client used. Orleans drops a
/// failed TLS handshake just as quietly, so with TLS on the message says which certificate was refused, and why, when
/// <paramref name="trust"/> refused one.
/// </summary>
internal sealed class ClusterConnectionRetry(ClusterConnectionOptions options, RemoteCertificateTrust? trust = null) : IClientConnectionRetryFilter
{
    private int _attempts;

    public async Task<bool> ShouldRetryConnectionAttempt(Exception exception, CancellationToken cancellationToken)
    {
        if (Interlocked.Increment(ref _attempts) < options.ConnectAttempts)
        {
            await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
            return true;
        }

        var where = options.Gateways.Count > 0 ? $"gateways {string.Join(", ", options.Gateways)}"
            : !string.IsNullOrWhiteSpace(options.Redis) ? $"Redis membership at {options.Redis}"
            : $"the localhost gateway (port {options.GatewayPort})";
        var start = $"Could not connect to Orleans cluster '{options.ClusterId}' (service '{options.ServiceId}') through {where} after {options.ConnectAttempts} tries: ";
        if (trust?.LastRefusal is { } refusal)
            throw new ClusterConnectionException($"{start}TLS refused the silos: {refusal}", exception) { CertificateRefusal = refusal };
        throw new ClusterConnectionException(
            start + "no silo answered there, or the silos belong to another cluster — Cluster:ClusterId and Cluster:ServiceId must match the silos'" +
            (trust is null ? ". " : $", or the silos did not trust this client's certificate ({ClusterTlsOptions.Section}:CertificatePath) — each end must trust the other's. ") +
            $"Last error: {exception.Message}", exception);
    }
}

/// <summary>A client could not reach its cluster; the message says which cluster, where it looked and what to check.</summary>
public sealed class ClusterConnectionException(string message, Exception inner) : Exception(message, inner)
{
    /// <summary>Set when this client refused the silos' TLS certificate: which one and why, naming the settings that would trust it.</summary>
    public string? CertificateRefusal { get; init; }
}
