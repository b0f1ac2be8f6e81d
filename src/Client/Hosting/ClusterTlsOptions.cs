using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Options;
using Orleans.Connections.Security;

namespace Orleans.Jobs.Client.Hosting;

/// <summary>
/// TLS between silos and between clients and silos (<c>Cluster:Tls</c>), through Orleans' own
/// (Microsoft.Orleans.Connections.Security). Off until <see cref="CertificatePath"/> is set; then every connection is
/// encrypted and both ends present a certificate, so a member without TLS — or with a certificate the other end does
/// not trust — cannot connect.
/// </summary>
public sealed class ClusterTlsOptions
{
    /// <summary>The configuration section, under <see cref="ClusterConnectionOptions.Section"/>.</summary>
    public const string Section = "Cluster:Tls";

    /// <summary>A PKCS#12 (.pfx) file with this member's certificate and private key; null: no TLS.</summary>
    public string? CertificatePath { get; set; }

    /// <summary>The password of <see cref="CertificatePath"/>, if it has one. A secret: never logged, never in a message.</summary>
    public string? CertificatePassword { get; set; }

    /// <summary>
    /// SHA-256 fingerprints (64 hex digits) of the certificates this member accepts from the other end — for
    /// self-signed certificates. Empty: the platform's chain validation decides (a certificate from a trusted CA).
    /// </summary>
    public IList<string> TrustedCertificates { get; set; } = [];

    /// <summary>
    /// A file of certificates, PEM (any number) or DER (one), to accept the other end's certificate from: one whose chain
    /// ends at a certificate here is trusted — a CA's, or a member's own self-signed certificate. With
    /// <see cref="TrustedCertificates"/>, either may vouch; with neither, the platform's chain validation decides.
    /// </summary>
    public string? CaFile { get; set; }

    /// <summary>True when TLS is on.</summary>
    public bool IsEnabled => !string.IsNullOrEmpty(CertificatePath);

    /// <summary>The SHA-256 fingerprint of <paramref name="certificate"/>, as <see cref="TrustedCertificates"/> lists it.</summary>
    public static string Fingerprint(X509Certificate certificate) => certificate.GetCertHashString(HashAlgorithmName.SHA256);

    /// <summary>The trust rule of these options, which keeps why it last refused a certificate.</summary>
    internal RemoteCertificateTrust Trust() => new(TrustedCertificates, CaFile);

    /// <summary>Orleans' TLS settings for these options: this member's certificate, required at both ends, and the trust rule.</summary>
    /// <exception cref="OptionsValidationException">The certificate cannot be loaded; the message names the setting.</exception>
    internal Action<TlsOptions> ToOrleans(RemoteCertificateTrust? trust = null)
    {
        var certificate = PfxCertificate.Load(CertificatePath!, CertificatePassword, $"{Section}:CertificatePath");
        trust ??= Trust();
        return tls =>
        {
            tls.LocalCertificate = certificate;
            tls.RemoteCertificateMode = RemoteCertificateMode.RequireCertificate;
            tls.ClientCertificateMode = RemoteCertificateMode.RequireCertificate;
            tls.RemoteCertificateValidation = trust.Accepts;
        };
    }

    /// <summary>The first broken rule, naming the setting; null when valid. Never shows the password.</summary>
    internal string? Check()
    {
        if (!IsEnabled)
            return CertificatePassword is null && TrustedCertificates.Count == 0 && CaFile is null ? null
                : $"{Section}:CertificatePath must be set when {Section}:CertificatePassword, {Section}:TrustedCertificates or {Section}:CaFile is set: TLS needs this member's certificate.";
        foreach (var fingerprint in TrustedCertificates)
            if (fingerprint is not { Length: 64 } || !fingerprint.All(char.IsAsciiHexDigit))
                return $"{Section}:TrustedCertificates entry '{fingerprint}' must be a SHA-256 fingerprint: 64 hex digits.";
        return CheckCaFile() ?? PfxCertificate.Check(CertificatePath!, CertificatePassword, $"{Section}:CertificatePath");
    }

    private string? CheckCaFile()
    {
        if (CaFile is null) return null;
        try
        {
            RemoteCertificateTrust.LoadAuthorities(CaFile);
            return null;
        }
        catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException)
        {
            return $"{Section}:CaFile '{CaFile}' could not be read as certificates (PEM, or one DER certificate): {e.Message}";
        }
    }
}

/// <summary>Loads a certificate with its private key from a PKCS#12 (.pfx) file, with errors that name the setting and never the password.</summary>
public static class PfxCertificate
{
    /// <summary>The certificate in <paramref name="path"/>.</summary>
    /// <exception cref="OptionsValidationException">The file is missing, unreadable, the password is wrong, or it holds no private key.</exception>
    public static X509Certificate2 Load(string path, string? password, string setting)
    {
        X509Certificate2 certificate;
        try
        {
            certificate = X509CertificateLoader.LoadPkcs12FromFile(path, password);
        }
        catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException)
        {
            throw Invalid(setting, $"{setting} '{path}' could not be read as a PKCS#12 (.pfx) certificate with its password: {e.Message}");
        }

        if (certificate.HasPrivateKey) return certificate;
        certificate.Dispose();
        throw Invalid(setting, $"{setting} '{path}' holds no private key: a member proves itself with the key, so export the certificate with it.");
    }

    /// <summary>Why <see cref="Load"/> would fail; null when it would not.</summary>
    public static string? Check(string path, string? password, string setting)
    {
        try
        {
            using var certificate = Load(path, password, setting);
            return null;
        }
        catch (OptionsValidationException e)
        {
            return e.Message;
        }
    }

    private static OptionsValidationException Invalid(string setting, string message) =>
        new(setting.Split(':')[0], typeof(X509Certificate2), [message]);
}
