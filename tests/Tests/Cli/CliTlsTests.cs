using Orleans.Jobs.Grains.Interfaces;

namespace Orleans.Jobs.Tests.Cli;

/// <summary>
/// The <c>jobs</c> CLI over Orleans' TLS (<c>Cluster:Tls</c>) to a stock silo with a self-signed certificate the test
/// makes: it connects when <c>--ca-file</c> names that certificate, and otherwise exits 1 saying which certificate it
/// refused and why; <c>--ca-file</c> it cannot use exits 2 before connecting.
/// </summary>
public sealed class CliTlsTests
{
    [Fact]
    public async Task The_cli_trusts_the_silos_self_signed_certificate_by_ca_file_and_refuses_it_otherwise_saying_why()
    {
        using var siloCertificate = TestCertificate.Create("silo");
        using var cliCertificate = TestCertificate.Create("jobs-cli");
        using var stranger = TestCertificate.Create("stranger");
        await using var silo = await CliTests.Silo.StartAsync(
            $"--Cluster:Tls:CertificatePath={siloCertificate.Path}", $"--Cluster:Tls:CertificatePassword={siloCertificate.Password}",
            $"--Cluster:Tls:TrustedCertificates:0={siloCertificate.Fingerprint}", $"--Cluster:Tls:TrustedCertificates:1={cliCertificate.Fingerprint}");
        await silo.Grains.GetGrain<IQueueGrain>("cli-tls").SendBatchAsync([new JobMessage("a"), new JobMessage("b")]);
        var asCli = ClientCertificate(cliCertificate);
        string[] once = ["--connect-attempts", "1", .. silo.Connection];

        var status = await JobsCli.RunAsync(asCli, ["status", "--queue", "cli-tls", "--ca-file", siloCertificate.PemPath, .. silo.Connection]);
        Assert.True(status.ExitCode == 0, status.ToString());
        Assert.Contains("queue cli-tls: 0/2 done, available=2", status.Out);

        var untrusted = await JobsCli.RunAsync(asCli, ["net", .. once]);
        Assert.True(untrusted.ExitCode == 1, untrusted.ToString());
        Assert.Contains($"TLS refused the silos: the certificate 'CN=silo' (SHA-256 {siloCertificate.Fingerprint}) that the other end presented is not trusted: this machine does not trust it", untrusted.Error);
        Assert.Contains("Pass --ca-file with the silos' CA certificate (or a silo's self-signed certificate) to trust it.", untrusted.Error);

        var otherAuthority = await JobsCli.RunAsync(asCli, ["net", "--ca-file", stranger.PemPath, .. once]);
        Assert.True(otherAuthority.ExitCode == 1, otherAuthority.ToString());
        Assert.Contains($"is not trusted: it is not listed in Cluster:Tls:TrustedCertificates and does not chain to a certificate of Cluster:Tls:CaFile '{stranger.PemPath}'", otherAuthority.Error);

        var unknownClient = await JobsCli.RunAsync(ClientCertificate(stranger), ["net", "--ca-file", siloCertificate.PemPath, .. once]);
        Assert.True(unknownClient.ExitCode == 1, unknownClient.ToString());
        Assert.Contains("or the silos did not trust this client's certificate (Cluster:Tls:CertificatePath)", unknownClient.Error);

        var notCertificates = Path.GetTempFileName();
        try
        {
            File.WriteAllText(notCertificates, "not a certificate");
            (IReadOnlyDictionary<string, string> Environment, string[] Arguments, string Message)[] refused =
            [
                (new Dictionary<string, string>(), ["net", "--ca-file", siloCertificate.PemPath, .. once], "--ca-file trusts the silos' TLS certificate, and TLS also needs this client's own: set ORLEANSJOBS_Cluster__Tls__CertificatePath"),
                (asCli, ["net", "--ca-file", "/no/such/ca.pem", .. once], "--ca-file '/no/such/ca.pem' does not exist"),
                (asCli, ["net", "--ca-file", notCertificates, .. once], $"Cluster:Tls:CaFile '{notCertificates}' could not be read as certificates"),
            ];
            foreach (var (environment, arguments, message) in refused)
            {
                var result = await JobsCli.RunAsync(environment, arguments);
                Assert.True(result.ExitCode == 2, $"jobs {string.Join(' ', arguments)}: {result}");
                Assert.Contains(message, result.Error);
            }
        }
        finally
        {
            File.Delete(notCertificates);
        }
    }

    /// <summary>The environment that gives the CLI its own certificate, as a user sets it (a password never goes on a command line).</summary>
    private static Dictionary<string, string> ClientCertificate(TestCertificate certificate) => new()
    {
        ["ORLEANSJOBS_Cluster__Tls__CertificatePath"] = certificate.Path,
        ["ORLEANSJOBS_Cluster__Tls__CertificatePassword"] = certificate.Password,
    };
}
