using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Orleans.Jobs.Client.Hosting;

namespace Orleans.Jobs.Tests.Support;

/// <summary>A self-signed certificate for 127.0.0.1 and localhost, good for server and client authentication, in a password-protected .pfx file of its own.</summary>
public sealed class TestCertificate : IDisposable
{
    private TestCertificate(X509Certificate2 certificate, string path, string password) => (Certificate, Path, Password) = (certificate, path, password);

    public X509Certificate2 Certificate { get; }

    /// <summary>The .pfx file, deleted on dispose.</summary>
    public string Path { get; }

    public string Password { get; }

    /// <summary>The SHA-256 fingerprint, as <see cref="ClusterTlsOptions.TrustedCertificates"/> lists it.</summary>
    public string Fingerprint => ClusterTlsOptions.Fingerprint(Certificate);

    public static TestCertificate Create(string name)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, false));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1"), new Oid("1.3.6.1.5.5.7.3.2")], false)); // server and client auth
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("localhost");
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        using var created = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        var password = $"pfx-{Guid.NewGuid():N}";
        var path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"oj-test-{name}-{Guid.NewGuid():N}.pfx");
        var pfx = created.Export(X509ContentType.Pkcs12, password);
        File.WriteAllBytes(path, pfx);
        return new TestCertificate(X509CertificateLoader.LoadPkcs12(pfx, password), path, password);
    }

    public void Dispose()
    {
        Certificate.Dispose();
        File.Delete(Path);
    }
}
