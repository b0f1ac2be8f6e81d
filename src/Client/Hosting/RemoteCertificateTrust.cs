using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Orleans.Jobs.Client.Hosting;

/// <summary>
/// Which certificates a member accepts from the other end of a TLS connection (<see cref="ClusterTlsOptions"/>): one
/// listed by fingerprint, one whose chain ends at a certificate of the CA file (name checks aside: members connect by
/// address), or — when neither is set — one the platform trusts. The last refusal is kept with its reason, because
/// Orleans drops a failed handshake without telling the caller why.
/// </summary>
internal sealed class RemoteCertificateTrust
{
    private readonly HashSet<string> _fingerprints;
    private readonly X509Certificate2Collection _authorities;
    private readonly string? _caFile;
    private volatile string? _lastRefusal;

    public RemoteCertificateTrust(IEnumerable<string> fingerprints, string? caFile)
    {
        _fingerprints = fingerprints.Select(f => f.ToUpperInvariant()).ToHashSet(StringComparer.Ordinal);
        _caFile = caFile;
        _authorities = caFile is null ? [] : LoadAuthorities(caFile);
    }

    /// <summary>Why the last certificate was refused, naming the settings that would trust it; null when none was.</summary>
    public string? LastRefusal => _lastRefusal;

    /// <summary>True when <paramref name="remote"/> is trusted; otherwise the reason is kept in <see cref="LastRefusal"/>.</summary>
    public bool Accepts(X509Certificate2 remote, X509Chain? presented, SslPolicyErrors errors)
    {
        var fingerprint = ClusterTlsOptions.Fingerprint(remote);
        if (_fingerprints.Contains(fingerprint)) return true;
        string refusal;
        if (_authorities.Count > 0)
        {
            if (ChainsToAuthority(remote, presented, out var status)) return true;
            refusal = $"it is not listed in {ClusterTlsOptions.Section}:TrustedCertificates and does not chain to a certificate of {ClusterTlsOptions.Section}:CaFile '{_caFile}' ({status})";
        }
        else if (_fingerprints.Count > 0)
        {
            refusal = $"it is not listed in {ClusterTlsOptions.Section}:TrustedCertificates";
        }
        else
        {
            if (errors == SslPolicyErrors.None) return true;
            refusal = $"this machine does not trust it ({errors}); set {ClusterTlsOptions.Section}:CaFile to its CA's certificate (for a self-signed certificate, the certificate itself) or list its fingerprint in {ClusterTlsOptions.Section}:TrustedCertificates";
        }

        _lastRefusal = $"the certificate '{remote.Subject}' (SHA-256 {fingerprint}) that the other end presented is not trusted: {refusal}.";
        return false;
    }

    /// <summary>The certificates of a PEM file (any number) or a DER file (one).</summary>
    /// <exception cref="CryptographicException">The file holds no certificate.</exception>
    public static X509Certificate2Collection LoadAuthorities(string path)
    {
        var certificates = new X509Certificate2Collection();
        if (File.ReadAllText(path).Contains("-----BEGIN CERTIFICATE-----", StringComparison.Ordinal)) certificates.ImportFromPemFile(path);
        else certificates.Add(X509CertificateLoader.LoadCertificateFromFile(path));
        // ImportFromPemFile passes over a block it cannot decode.
        return certificates.Count > 0 ? certificates : throw new CryptographicException("it holds no certificate that can be decoded.");
    }

    private bool ChainsToAuthority(X509Certificate2 remote, X509Chain? presented, out string status)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(_authorities);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        // Intermediates the other end sent along.
        if (presented is not null)
            foreach (var element in presented.ChainElements) chain.ChainPolicy.ExtraStore.Add(element.Certificate);
        var built = chain.Build(remote);
        status = built ? "" : string.Join(", ", chain.ChainStatus.Select(s => s.Status).Distinct());
        return built;
    }
}
