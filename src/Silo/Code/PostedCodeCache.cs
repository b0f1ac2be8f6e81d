using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Orleans.Jobs.Grains.Code;
using Orleans.Jobs.Grains.Interfaces.Code;
using Orleans.Runtime;

namespace Orleans.Jobs.Silo.Code;

/// <summary>Where a code host finds one version: the assembly and its portable PDB, when it has one.</summary>
/// <param name="AssemblyPath">The assembly file, named by its hash.</param>
/// <param name="SymbolsPath">The PDB file beside it; null when the version has no symbols.</param>
public sealed record PostedCodeFiles(string AssemblyPath, string? SymbolsPath);

/// <summary>
/// This silo's posted code as files, for code hosts (<see cref="IsolatedCodeProcess"/>): <c>&lt;hash&gt;.dll</c> and
/// <c>&lt;hash&gt;.pdb</c> in a directory of the silo's own under the temp directory. Versions are fetched through the
/// <see cref="PostedCodeRunner"/> with the cluster key — the silo's secret, which code hosts never see — and written
/// atomically (a temporary file renamed), so a host never reads half a file. Files are named by their content's hash:
/// once written they never change, and a file that does not match its hash is fetched again.
/// </summary>
public sealed partial class PostedCodeCache(PostedCodeRunner runner, ClusterKeyCheck clusterKey, ILocalSiloDetails silo, ILogger<PostedCodeCache> logger)
{
    private readonly ConcurrentDictionary<string, PostedCodeFiles> _checked = new(StringComparer.Ordinal);

    /// <summary>The directory: <c>orleans-jobs-code-&lt;user&gt;/&lt;silo host&gt;-&lt;port&gt;</c> under the temp directory.</summary>
    public string Directory { get; } = Path.Combine(
        Path.GetTempPath(),
        $"orleans-jobs-code-{Environment.UserName}",
        $"{silo.SiloAddress.Endpoint.Address}-{silo.SiloAddress.Endpoint.Port}".Replace(':', '_'));

    /// <summary>The silo's id, as posted functions see it.</summary>
    public string SiloId => runner.SiloId;

    /// <summary>
    /// The files of a version a call may run — refused, as <see cref="PostedCodeRunner.RunAsync"/> refuses, when it
    /// is not posted or was removed — fetched and written first when this silo has not.
    /// </summary>
    /// <exception cref="PostedCodeException">Nothing is posted under <paramref name="hash"/>, it was removed, or its stored bytes are not its hash's.</exception>
    public async Task<PostedCodeFiles> GetAsync(string hash, CancellationToken cancellationToken)
    {
        PostedCodeRules.ValidateHash(hash);
        await runner.RefuseUnavailableAsync(hash, cancellationToken);
        if (_checked.TryGetValue(hash, out var files)) return files;

        var assemblyPath = Path.Combine(Directory, hash + ".dll");
        var symbolsPath = Path.Combine(Directory, hash + ".pdb");
        if (!File.Exists(assemblyPath) || PostedCodeRules.HashOf(await File.ReadAllBytesAsync(assemblyPath, cancellationToken)) != hash)
        {
            var stored = await runner.FetchAsync(hash, cancellationToken);
            CreateDirectory();
            // The symbols first: once the assembly is there, so is everything of its version.
            if (stored.Symbols is { } symbols) await WriteAtomicallyAsync(symbolsPath, symbols, cancellationToken);
            else File.Delete(symbolsPath);
            await WriteAtomicallyAsync(assemblyPath, stored.Assembly, cancellationToken);
            LogWritten(hash, Directory, stored.Assembly.Length, stored.Symbols?.Length ?? 0);
        }

        return _checked.GetOrAdd(hash, new PostedCodeFiles(assemblyPath, File.Exists(symbolsPath) ? symbolsPath : null));
    }

    /// <summary>True when <paramref name="value"/> is the cluster key, which must not reach a code host.</summary>
    internal bool IsClusterKey(string? value) => value == clusterKey.Key;

    /// <summary>Readable by this user only: posted code is the cluster's, not every local user's.</summary>
    private void CreateDirectory()
    {
        System.IO.Directory.CreateDirectory(Directory);
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(Directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }

    private static async Task WriteAtomicallyAsync(string path, byte[] bytes, CancellationToken cancellationToken)
    {
        var temporary = $"{path}.{Guid.NewGuid():N}.tmp";
        try
        {
            await File.WriteAllBytesAsync(temporary, bytes, cancellationToken);
            File.Move(temporary, path, overwrite: true);
        }
        finally
        {
            File.Delete(temporary); // nothing left when the move happened
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Wrote posted code {Hash} to {Directory} for code hosts ({Size} bytes, symbols {SymbolsSize} bytes)")]
    private partial void LogWritten(string hash, string directory, int size, int symbolsSize);
}
