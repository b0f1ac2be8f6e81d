using System.Collections.Immutable;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using System.Security.Cryptography;
using System.Text.RegularExpressions;

namespace Orleans.Jobs.Grains.Interfaces.Code;

/// <summary>
/// What posted code must be. The client checks before sending and the grains check again before storing anything,
/// so a refused post leaves nothing behind and every message names the rule it broke.
/// </summary>
public static partial class PostedCodeRules
{
    /// <summary>The queue every silo runs posted functions from (payload: a <see cref="PostedFunctionCall"/>).</summary>
    public const string Queue = "code";

    /// <summary>The largest assembly that may be posted: 16 MiB. It lives in one grain's state and crosses the wire whole.</summary>
    public const int MaxAssemblyBytes = 16 * 1024 * 1024;

    /// <summary>The largest portable PDB that may be posted with an assembly: 16 MiB, like the assembly.</summary>
    public const int MaxSymbolsBytes = MaxAssemblyBytes;

    /// <summary>The longest description.</summary>
    public const int MaxDescriptionLength = 1_000;

    /// <summary>
    /// The most versions the catalog lists. Removed ones make room for new posts, oldest first; when every listed
    /// version is live, posting is refused until some are removed. It bounds the catalog grain's state.
    /// </summary>
    public const int MaxCatalogEntries = 1_000;

    /// <summary>How long ago a version must have been removed for garbage collection (JobMon's gc) to forget it, by default.</summary>
    public static readonly TimeSpan DefaultCollectAfter = TimeSpan.FromDays(7);

    /// <summary>The longest age garbage collection accepts.</summary>
    public static readonly TimeSpan MaxCollectAfter = TimeSpan.FromDays(3650);

    /// <summary>The longest function name.</summary>
    public const int MaxFunctionNameLength = 512;

    /// <summary>The SHA-256 of <paramref name="assembly"/> as 64 lowercase hex digits: the name of posted code.</summary>
    public static string HashOf(ReadOnlySpan<byte> assembly) => Convert.ToHexStringLower(SHA256.HashData(assembly));

    /// <summary>Checks a posted-code hash: 64 lowercase hex digits (a SHA-256).</summary>
    /// <exception cref="ArgumentException">It is not one.</exception>
    public static void ValidateHash(string? hash, string paramName = "hash")
    {
        if (hash is null || !HashPattern().IsMatch(hash))
            throw new ArgumentException($"'{Shorten(hash)}' is not a posted-code hash: use the SHA-256 of the assembly as 64 lowercase hex digits (PostedCode.PostAsync returns it).", paramName);
    }

    /// <summary>Checks how long ago a version must have been removed to be forgotten: 0 (every removed version) to <see cref="MaxCollectAfter"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">It is out of range.</exception>
    public static void ValidateCollectAge(TimeSpan olderThan, string paramName = "olderThan") =>
        QueueLimits.CheckRange(olderThan, TimeSpan.Zero, MaxCollectAfter, paramName);

    /// <summary>Checks a function name: <c>Namespace.Type.Method</c>, identifiers joined by '.' (or '+' for nested types), at most 512 characters.</summary>
    /// <exception cref="ArgumentException">It breaks the rule.</exception>
    public static void ValidateFunctionName(string? function, string paramName = "function")
    {
        if (function is null || function.Length > MaxFunctionNameLength || !FunctionPattern().IsMatch(function))
            throw new ArgumentException($"Function name '{Shorten(function)}' is invalid: use Namespace.Type.Method (a type name and a method name at least, '+' between nested types), at most {MaxFunctionNameLength} characters.", paramName);
    }

    /// <summary>Checks a description: valid text, not blank, at most <see cref="MaxDescriptionLength"/> characters.</summary>
    /// <exception cref="ArgumentException">It breaks the rule.</exception>
    public static void ValidateDescription(string? description, string paramName = "description")
    {
        QueueLimits.ValidatePayload(description, paramName);
        if (string.IsNullOrWhiteSpace(description))
            throw new ArgumentException("The description is empty: say what the code is (JobMon's job description).", paramName);
        if (description.Length > MaxDescriptionLength)
            throw new ArgumentException($"The description is {description.Length} characters; the limit is {MaxDescriptionLength}.", paramName);
    }

    /// <summary>Checks a git commit: null, or 40 (SHA-1) or 64 (SHA-256) lowercase hex digits.</summary>
    /// <exception cref="ArgumentException">It breaks the rule.</exception>
    public static void ValidateGitCommit(string? commit, string paramName = "gitCommit")
    {
        if (commit is not null && !IsGitCommit(commit))
            throw new ArgumentException($"Git commit '{Shorten(commit)}' is invalid: use the full commit id (40 or 64 lowercase hex digits, as `git rev-parse HEAD` prints), or none.", paramName);
    }

    /// <summary>True when <paramref name="text"/> is a full git commit id: 40 or 64 lowercase hex digits.</summary>
    public static bool IsGitCommit(string? text) => text is not null && GitCommitPattern().IsMatch(text);

    /// <summary>
    /// Checks that <paramref name="assembly"/> is a .NET assembly of at most <see cref="MaxAssemblyBytes"/> and
    /// returns its full name.
    /// </summary>
    /// <exception cref="ArgumentException">It is missing, empty, too large, or not a .NET assembly.</exception>
    public static string ValidateAssembly(byte[]? assembly, string paramName = "assembly")
    {
        if (assembly is null || assembly.Length == 0)
            throw new ArgumentException("The assembly is empty: post the bytes of a .NET assembly (.dll).", paramName);
        if (assembly.Length > MaxAssemblyBytes)
            throw new ArgumentException($"The assembly is {assembly.Length} bytes; the limit is {MaxAssemblyBytes} ({MaxAssemblyBytes / (1024 * 1024)} MiB).", paramName);
        try
        {
            using var pe = new PEReader(ImmutableArray.Create(assembly));
            if (!pe.HasMetadata)
                throw new ArgumentException("The file is a PE image without .NET metadata (a native library?): post a .NET assembly.", paramName);
            var metadata = pe.GetMetadataReader();
            if (!metadata.IsAssembly)
                throw new ArgumentException("The file is a .NET module without an assembly manifest: post an assembly.", paramName);
            return metadata.GetAssemblyDefinition().GetAssemblyName().FullName;
        }
        catch (BadImageFormatException e)
        {
            throw new ArgumentException($"The bytes are not a .NET assembly ({e.Message}).", paramName, e);
        }
    }

    /// <summary>
    /// Checks the symbols posted with <paramref name="assembly"/> (a valid assembly): none, or a portable PDB of at most
    /// <see cref="MaxSymbolsBytes"/> whose id is the one the assembly's CodeView debug directory entry names.
    /// </summary>
    /// <exception cref="ArgumentException">They are empty, too large, not a portable PDB, or another build's.</exception>
    public static void ValidateSymbols(byte[]? symbols, byte[] assembly, string paramName = "symbols")
    {
        if (symbols is null) return;
        if (symbols.Length == 0)
            throw new ArgumentException("The symbols are empty: post the portable PDB the compiler wrote next to the assembly, or none.", paramName);
        if (symbols.Length > MaxSymbolsBytes)
            throw new ArgumentException($"The symbols are {symbols.Length} bytes; the limit is {MaxSymbolsBytes} ({MaxSymbolsBytes / (1024 * 1024)} MiB).", paramName);

        BlobContentId pdbId;
        try
        {
            using var pdb = MetadataReaderProvider.FromPortablePdbImage(ImmutableArray.Create(symbols));
            var header = pdb.GetMetadataReader().DebugMetadataHeader
                ?? throw new BadImageFormatException("the metadata has no #Pdb stream");
            pdbId = new BlobContentId(header.Id);
        }
        catch (BadImageFormatException e)
        {
            throw new ArgumentException($"The symbols are not a portable PDB ({e.Message}): build with <DebugType>portable</DebugType> and post the .pdb written next to the .dll.", paramName, e);
        }

        using var pe = new PEReader(ImmutableArray.Create(assembly));
        var codeView = pe.ReadDebugDirectory().Where(entry => entry.Type == DebugDirectoryEntryType.CodeView).ToList();
        if (codeView.Count == 0)
            throw new ArgumentException("The symbols cannot belong to the assembly: it has no CodeView debug directory entry (built with <DebugType>none</DebugType>?). Post it without symbols, or rebuild it with a portable PDB.", paramName);
        if (!codeView.Any(entry => entry.IsPortableCodeView && new BlobContentId(pe.ReadCodeViewDebugDirectoryData(entry).Guid, entry.Stamp) == pdbId))
        {
            var expected = codeView[0];
            throw new ArgumentException($"The symbols belong to another build: the PDB's id is {pdbId.Guid:N}-{pdbId.Stamp:x8}, the assembly's CodeView entry names {pe.ReadCodeViewDebugDirectoryData(expected).Guid:N}-{expected.Stamp:x8}. Post the .pdb written with this .dll.", paramName);
        }
    }

    /// <summary>Checks everything of a post and returns the assembly's full name.</summary>
    /// <exception cref="ArgumentException">A part breaks its rule; the message names it.</exception>
    public static string ValidateUpload(PostedCodeUpload upload)
    {
        ArgumentNullException.ThrowIfNull(upload);
        ValidateDescription(upload.Description, "description");
        ValidateGitCommit(upload.GitCommit, "gitCommit");
        var assemblyName = ValidateAssembly(upload.Assembly, "assembly");
        ValidateSymbols(upload.Symbols, upload.Assembly, "symbols");
        return assemblyName;
    }

    /// <summary>Text cut to 140 characters for error messages.</summary>
    internal static string? Shorten(string? text) => text is { Length: > 140 } ? text[..140] + "…" : text;

    [GeneratedRegex("^[0-9a-f]{64}\\z")]
    private static partial Regex HashPattern();

    [GeneratedRegex("^([0-9a-f]{40}|[0-9a-f]{64})\\z")]
    private static partial Regex GitCommitPattern();

    [GeneratedRegex(@"^[\p{L}_][\p{L}\p{N}_]*(?:[.+][\p{L}_][\p{L}\p{N}_]*)+\z")]
    private static partial Regex FunctionPattern();
}
