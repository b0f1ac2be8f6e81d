using System.Collections.Immutable;
using System.IO.Compression;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using System.Runtime.InteropServices;
using System.Text;

namespace Orleans.Jobs.Grains.Code;

/// <summary>
/// The portable PDB of one loaded version — the one posted with it, else the one embedded in the assembly — given to
/// the runtime so stack frames carry lines, and read here for the source of those lines.
/// </summary>
internal sealed class PostedCodeSymbols
{
    /// <summary>A source file on this machine larger than this is not read for a statement.</summary>
    public const long MaxSourceFileBytes = 1024 * 1024;

    /// <summary>The custom debug information kind of a document's embedded source (portable PDB specification).</summary>
    private static readonly Guid EmbeddedSourceKind = new("0E8A571B-6926-466E-B4AD-8AB04611F5FE");

    /// <summary>"MPDB": the start of an embedded portable PDB's debug directory data.</summary>
    private const uint EmbeddedPdbSignature = 0x4244504D;

    private PostedCodeSymbols(byte[]? pdb) => Pdb = pdb;

    /// <summary>None: frames have no lines.</summary>
    public static PostedCodeSymbols None { get; } = new(null);

    /// <summary>The PDB's bytes; null when the version has none.</summary>
    public byte[]? Pdb { get; }

    /// <summary>
    /// The symbols of <paramref name="assembly"/>: <paramref name="posted"/> when given, else its embedded PDB, else
    /// none (also when the embedded PDB is damaged: symbols only place errors, so the code still runs).
    /// </summary>
    public static PostedCodeSymbols Of(byte[] assembly, byte[]? posted)
    {
        if (posted is not null) return new PostedCodeSymbols(posted);
        try
        {
            using var pe = new PEReader(ImmutableCollectionsMarshal.AsImmutableArray(assembly));
            var embedded = pe.ReadDebugDirectory().FirstOrDefault(entry => entry.Type == DebugDirectoryEntryType.EmbeddedPortablePdb);
            if (embedded.DataSize < 8) return None;
            var data = pe.GetEntireImage().GetContent(embedded.DataPointer, embedded.DataSize).AsSpan();
            return BitConverter.ToUInt32(data) == EmbeddedPdbSignature ? new PostedCodeSymbols(Inflate(data[8..], BitConverter.ToInt32(data[4..]))) : None;
        }
        catch (Exception e) when (e is BadImageFormatException or InvalidDataException or IOException)
        {
            return None;
        }
    }

    /// <summary>
    /// Line <paramref name="line"/> of <paramref name="file"/>, trimmed: from the source the PDB embeds for that
    /// document, else from the file on this machine when it is there and under <see cref="MaxSourceFileBytes"/>; null otherwise.
    /// </summary>
    public string? StatementAt(string file, int line)
    {
        try
        {
            using var source = OpenEmbeddedSource(file) ?? OpenLocalSource(file);
            if (source is null) return null;
            for (var number = 1; source.ReadLine() is { } text; number++)
                if (number == line) return text.Trim();
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or BadImageFormatException or InvalidDataException)
        {
            return null; // the statement is a courtesy: an unreadable source leaves it out
        }
    }

    private StreamReader? OpenEmbeddedSource(string file)
    {
        if (Pdb is null) return null;
        using var provider = MetadataReaderProvider.FromPortablePdbImage(ImmutableCollectionsMarshal.AsImmutableArray(Pdb));
        var reader = provider.GetMetadataReader();
        foreach (var handle in reader.Documents)
        {
            if (reader.GetString(reader.GetDocument(handle).Name) != file) continue;
            foreach (var information in reader.GetCustomDebugInformation(handle))
            {
                var entry = reader.GetCustomDebugInformation(information);
                if (reader.GetGuid(entry.Kind) != EmbeddedSourceKind) continue;
                // A 4-byte format: 0 for the text as it is, else the text's size before deflate compression.
                var blob = reader.GetBlobBytes(entry.Value);
                var size = BitConverter.ToInt32(blob);
                return Text(size == 0 ? blob[4..] : Inflate(blob.AsSpan(4), size));
            }
        }

        return null;
    }

    private static StreamReader? OpenLocalSource(string file)
    {
        var info = new FileInfo(file);
        return info.Exists && info.Length < MaxSourceFileBytes ? new StreamReader(info.FullName, Encoding.UTF8, detectEncodingFromByteOrderMarks: true) : null;
    }

    private static StreamReader Text(byte[] bytes) => new(new MemoryStream(bytes, writable: false), Encoding.UTF8, detectEncodingFromByteOrderMarks: true);

    private static byte[] Inflate(ReadOnlySpan<byte> compressed, int size)
    {
        if (size < 0) throw new InvalidDataException($"A compressed debug blob declares {size} bytes.");
        var output = new byte[size];
        using var deflate = new DeflateStream(new MemoryStream(compressed.ToArray(), writable: false), CompressionMode.Decompress);
        deflate.ReadExactly(output);
        return output;
    }
}
