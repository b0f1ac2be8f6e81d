using System.CommandLine;
using System.Net;

namespace Orleans.Jobs.Cli.Connection;

/// <summary>
/// The options every command shares: how to reach the cluster (<c>--gateway</c>, <c>--cluster-id</c>,
/// <c>--service-id</c>, <c>--redis</c>, <c>--ca-file</c> for TLS), the cluster key's file, and <c>--json</c>. A key value on the command line is
/// refused: other users see the process list.
/// </summary>
internal static class ConnectionOptions
{
    /// <summary>The environment variable that carries the cluster key (the silo reads the same one).</summary>
    public const string ClusterKeyVariable = "ORLEANSJOBS_Gateway__ClusterKey";

    public static readonly Option<string[]> Gateways = new("--gateway")
    {
        Description = "An Orleans gateway as address:port (repeatable); default: Cluster:Gateways, else the localhost gateway 127.0.0.1:30000",
        Recursive = true,
        AllowMultipleArgumentsPerToken = false,
    };

    public static readonly Option<string?> ClusterId = new("--cluster-id") { Description = "Orleans cluster id (default orleans-jobs)", Recursive = true };

    public static readonly Option<string?> ServiceId = new("--service-id") { Description = "Orleans service id (default orleans-jobs)", Recursive = true };

    public static readonly Option<string?> Redis = new("--redis") { Description = "Redis membership to find the gateways (host:port)", Recursive = true };

    public static readonly Option<int?> ConnectAttempts = new("--connect-attempts")
    {
        Description = "How many times to try the first connection, a second apart (default 5)",
        Recursive = true,
    };

    public static readonly Option<FileInfo?> ClusterKeyFile = new("--cluster-key-file")
    {
        Description = $"A file holding an admin key — the silos' Gateway:ClusterKey or a Gateway:Keys entry with Role admin — (else the environment variable {ClusterKeyVariable}); never pass the key itself",
        Recursive = true,
    };

    /// <summary>The environment variable naming this client's own TLS certificate, which <see cref="CaFile"/> needs.</summary>
    public const string TlsCertificateVariable = "ORLEANSJOBS_Cluster__Tls__CertificatePath";

    public static readonly Option<FileInfo?> CaFile = new("--ca-file")
    {
        Description = "Trust the silos' TLS certificate when it chains to a certificate in this file, PEM or DER: their CA's, or a silo's self-signed one (Cluster:Tls:CaFile). " +
            $"TLS also needs this client's certificate: {TlsCertificateVariable} (a .pfx) and ORLEANSJOBS_Cluster__Tls__CertificatePassword",
        Recursive = true,
    };

    public static readonly Option<bool> Json = new("--json") { Description = "Write JSON for scripts instead of text", Recursive = true };

    static ConnectionOptions()
    {
        ConnectAttempts.AddRange(1, 100);
        CaFile.AddRule(path =>
        {
            if (!File.Exists(path)) throw new ArgumentException($"--ca-file '{path}' does not exist: give the file of the certificate to trust (PEM or DER).", "--ca-file");
        });
        Gateways.Validators.Add(result =>
        {
            foreach (var gateway in result.GetValueOrDefault<string[]>() ?? [])
                if (!IPEndPoint.TryParse(gateway, out var endpoint) || endpoint.Port == 0)
                    result.AddError($"--gateway '{gateway}' must be an IP address and port such as 127.0.0.1:30000.");
        });
    }

    /// <summary>The shared options that take a value, by name.</summary>
    public static IReadOnlySet<string> WithValues { get; } = new HashSet<string>([Gateways.Name, ClusterId.Name, ServiceId.Name, Redis.Name, ConnectAttempts.Name, ClusterKeyFile.Name, CaFile.Name]);

    /// <summary>Adds the shared options to the root command.</summary>
    public static void AddTo(RootCommand root)
    {
        foreach (var option in new Option[] { Gateways, ClusterId, ServiceId, Redis, ConnectAttempts, ClusterKeyFile, CaFile, Json })
            root.Options.Add(option);
    }

    /// <summary>
    /// The cluster key from <c>--cluster-key-file</c> or the environment, or null when neither is set.
    /// </summary>
    /// <exception cref="UsageException">The file cannot be read or is empty.</exception>
    public static string? ReadClusterKey(ParseResult parse)
    {
        if (parse.GetValue(ClusterKeyFile) is { } file)
        {
            string key;
            try
            {
                key = File.ReadAllText(file.FullName).Trim();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new UsageException($"--cluster-key-file '{file.FullName}' cannot be read: {e.Message}");
            }

            return key.Length > 0 ? key : throw new UsageException($"--cluster-key-file '{file.FullName}' is empty.");
        }

        return Environment.GetEnvironmentVariable(ClusterKeyVariable) is { Length: > 0 } fromEnvironment ? fromEnvironment : null;
    }

    /// <summary>
    /// The refusal for a key on the command line (<c>--cluster-key value</c> or <c>--cluster-key=value</c>), anywhere,
    /// silo pass-through included; null when there is none.
    /// </summary>
    public static string? RefuseKeyOnCommandLine(IReadOnlyList<string> args) =>
        args.Any(a => a == "--cluster-key" || a.StartsWith("--cluster-key=", StringComparison.Ordinal) || a.StartsWith("--Gateway:ClusterKey", StringComparison.OrdinalIgnoreCase))
            ? $"a cluster key on the command line is refused: every user of this machine can read it in the process list. Put it in a file readable only by you and pass --cluster-key-file <path>, or set the environment variable {ClusterKeyVariable}. Nothing was done."
            : null;
}
