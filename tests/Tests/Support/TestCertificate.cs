using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Orleans.Jobs.Client.Hosting;

namespace Orleans.Jobs.Tests.Support;

/// <summary>
/// A certificate for 127.0.0.1 and localhost, good for server and client authentication, in a password-protected .pfx
/// file of its own: self-signed, or signed by a test authority (<see cref="CreateAuthority"/>, <see cref="Issue"/>).
/// </summary>
public sealed class TestCertificate : IDisposable
{
    private TestCertificate(X509Certificate2 certificate, string path, string password) => (Certificate, Path, Password) = (certificate, path, password);

    public X509Certificate2 Certificate { get; }

    /// <summary>The .pfx file, deleted on dispose.</summary>
    public string Path { get; }

    public string Password { get; }

    /// <summary>The SHA-256 fingerprint, as <see cref="ClusterTlsOptions.TrustedCertificates"/> lists it.</summary>
    public string Fingerprint => ClusterTlsOptions.Fingerprint(Certificate);

    /// <summary>A self-signed certificate (its own authority, as <see cref="ClusterTlsOptions.CaFile"/> may name it).</summary>
    public static TestCertificate Create(string name) => Build(name, issuer: null, authority: false);

    /// <summary>A certificate authority's self-signed certificate, which <see cref="Issue"/> signs others with.</summary>
    public static TestCertificate CreateAuthority(string name) => Build(name, issuer: null, authority: true);

    /// <summary>A certificate for 127.0.0.1 and localhost signed by this authority.</summary>
    public TestCertificate Issue(string name) => Build(name, Certificate, authority: false);

    /// <summary>The certificate alone (no key) in a PEM file of its own, deleted with this one.</summary>
    public string PemPath
    {
        get
        {
            var path = System.IO.Path.ChangeExtension(Path, ".pem");
            if (!File.Exists(path)) File.WriteAllText(path, Certificate.ExportCertificatePem());
            return path;
        }
    }

    private static TestCertificate Build(string name, X509Certificate2? issuer, bool authority)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(authority, false, 0, authority));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        if (authority)
        {
            request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign | X509KeyUsageFlags.DigitalSignature, true));
        }
        else
        {
            request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, false));
            request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1"), new Oid("1.3.6.1.5.5.7.3.2")], false)); // server and client auth
            var names = new SubjectAlternativeNameBuilder();
            names.AddDnsName("localhost");
            names.AddIpAddress(IPAddress.Loopback);
            request.CertificateExtensions.Add(names.Build());
        }

        X509Certificate2 created;
        if (issuer is null)
        {
            created = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        }
        else
        {
            request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(issuer, includeKeyIdentifier: true, includeIssuerAndSerial: false));
            // Within the authority's own validity, which began a day ago and ends in a day.
            using var signed = request.Create(issuer, DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddHours(12), RandomNumberGenerator.GetBytes(8));
            created = signed.CopyWithPrivateKey(key);
        }

        using (created)
        {
            var password = $"pfx-{Guid.NewGuid():N}";
            var path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"oj-test-{name}-{Guid.NewGuid():N}.pfx");
            var pfx = created.Export(X509ContentType.Pkcs12, password);
            File.WriteAllBytes(path, pfx);
            return new TestCertificate(X509CertificateLoader.LoadPkcs12(pfx, password), path, password);
        }
    }

    public void Dispose()
    {
        Certificate.Dispose();
        File.Delete(Path);
        File.Delete(System.IO.Path.ChangeExtension(Path, ".pem"));
    }
}
