using System.Net.Security;
using Orleans.Jobs.Client.Hosting;

namespace Orleans.Jobs.Tests.Client;

/// <summary>Which certificates a cluster member accepts from the other end (<c>Cluster:Tls</c>), and the reason it gives when it refuses one.</summary>
public sealed class RemoteCertificateTrustTests
{
    private const SslPolicyErrors Untrusted = SslPolicyErrors.RemoteCertificateChainErrors;

    [Fact]
    public void A_ca_file_trusts_what_its_authority_issued_and_a_self_signed_certificate_itself_in_pem_or_der()
    {
        using var authority = TestCertificate.CreateAuthority("test-ca");
        using var issued = authority.Issue("silo-1");
        using var selfSigned = TestCertificate.Create("silo-2");
        using var stranger = TestCertificate.Create("stranger");
        var der = Path.ChangeExtension(selfSigned.Path, ".cer");
        File.WriteAllBytes(der, selfSigned.Certificate.RawData);
        try
        {
            var byAuthority = new RemoteCertificateTrust([], authority.PemPath);
            Assert.True(byAuthority.Accepts(issued.Certificate, null, Untrusted));
            Assert.False(byAuthority.Accepts(stranger.Certificate, null, Untrusted));
            Assert.Equal($"the certificate 'CN=stranger' (SHA-256 {stranger.Fingerprint}) that the other end presented is not trusted: it is not listed in Cluster:Tls:TrustedCertificates " +
                $"and does not chain to a certificate of Cluster:Tls:CaFile '{authority.PemPath}' (UntrustedRoot).", byAuthority.LastRefusal);

            Assert.True(new RemoteCertificateTrust([], selfSigned.PemPath).Accepts(selfSigned.Certificate, null, Untrusted));
            Assert.True(new RemoteCertificateTrust([], der).Accepts(selfSigned.Certificate, null, Untrusted));
            Assert.False(new RemoteCertificateTrust([], der).Accepts(issued.Certificate, null, Untrusted));
        }
        finally
        {
            File.Delete(der);
        }
    }

    [Fact]
    public void Fingerprints_vouch_beside_a_ca_file_and_without_either_only_what_the_platform_trusts_passes()
    {
        using var authority = TestCertificate.CreateAuthority("test-ca");
        using var pinned = TestCertificate.Create("pinned");
        using var stranger = TestCertificate.Create("stranger");

        var both = new RemoteCertificateTrust([pinned.Fingerprint.ToLowerInvariant()], authority.PemPath);
        Assert.True(both.Accepts(pinned.Certificate, null, Untrusted));
        Assert.Null(both.LastRefusal);
        var pinnedOnly = new RemoteCertificateTrust([pinned.Fingerprint], null);
        Assert.False(pinnedOnly.Accepts(stranger.Certificate, null, SslPolicyErrors.None)); // pinning decides, not the platform
        Assert.EndsWith("is not trusted: it is not listed in Cluster:Tls:TrustedCertificates.", pinnedOnly.LastRefusal);

        var platform = new RemoteCertificateTrust([], null);
        Assert.True(platform.Accepts(stranger.Certificate, null, SslPolicyErrors.None));
        Assert.False(platform.Accepts(stranger.Certificate, null, Untrusted));
        Assert.EndsWith("this machine does not trust it (RemoteCertificateChainErrors); set Cluster:Tls:CaFile to its CA's certificate (for a self-signed certificate, the certificate itself) or list its fingerprint in Cluster:Tls:TrustedCertificates.", platform.LastRefusal);
    }

    [Fact]
    public void A_ca_file_that_holds_no_certificate_or_comes_without_a_certificate_of_ones_own_is_refused_naming_the_setting()
    {
        using var member = TestCertificate.Create("member");
        var garbage = Path.GetTempFileName();
        try
        {
            File.WriteAllText(garbage, "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n");
            var refusal = new ClusterTlsOptions { CertificatePath = member.Path, CertificatePassword = member.Password, CaFile = garbage }.Check();
            Assert.StartsWith($"Cluster:Tls:CaFile '{garbage}' could not be read as certificates (PEM, or one DER certificate):", refusal);
            Assert.Equal("Cluster:Tls:CertificatePath must be set when Cluster:Tls:CertificatePassword, Cluster:Tls:TrustedCertificates or Cluster:Tls:CaFile is set: TLS needs this member's certificate.",
                new ClusterTlsOptions { CaFile = member.PemPath }.Check());
            Assert.Null(new ClusterTlsOptions { CertificatePath = member.Path, CertificatePassword = member.Password, CaFile = member.PemPath }.Check());
        }
        finally
        {
            File.Delete(garbage);
        }
    }
}
