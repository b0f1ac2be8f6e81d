using System.Text.Json;
using System.Text.Unicode;
using Orleans.Jobs.Grains.Interfaces;

namespace Orleans.Jobs.Silo.Gateway;

/// <summary>
/// A grain call as read from an HTTP request, before any argument is materialised: the body's bytes (at most
/// <see cref="GatewayOptions.MaxRequestBytes"/>), checked to be UTF-8 JSON, with the envelope's strings read and each
/// argument kept as a slice of the body. Arguments become objects only after <see cref="GatewayArguments"/> has checked
/// their shape, so a request never costs more memory than a small multiple of its size.
/// </summary>
public sealed class GatewayRequest
{
    /// <summary>The most arguments a call may send (no served method takes more).</summary>
    public const int MaxArguments = 16;

    /// <summary>The deepest nesting of JSON a request may have; the contracts nest four levels at most.</summary>
    public const int MaxDepth = 16;

    private const string Fields = "'interface' (an alias such as jobs.queue), 'key', 'method' (an alias such as send) and 'arguments'";

    private static readonly JsonReaderOptions ReaderOptions = new() { MaxDepth = MaxDepth, CommentHandling = JsonCommentHandling.Disallow };

    private readonly ReadOnlyMemory<byte> _body;
    private readonly List<Range> _arguments;

    private GatewayRequest(ReadOnlyMemory<byte> body, string @interface, string key, string method, List<Range> arguments)
    {
        (_body, Interface, Key, Method, _arguments) = (body, @interface, key, method, arguments);
    }

    /// <summary>The grain interface's alias.</summary>
    public string Interface { get; }

    /// <summary>The grain key.</summary>
    public string Key { get; }

    /// <summary>The method's alias.</summary>
    public string Method { get; }

    /// <summary>How many arguments the call sent.</summary>
    public int ArgumentCount => _arguments.Count;

    /// <summary>The JSON text of argument <paramref name="index"/>.</summary>
    public ReadOnlyMemory<byte> Argument(int index) => _body[_arguments[index]];

    /// <summary>
    /// Reads at most <paramref name="maxBytes"/> of the body; a longer body is refused before the rest is read. A body
    /// with a Content-Length costs one buffer of that length; one without, about twice its size (see <see cref="ReadChunkedAsync"/>).
    /// </summary>
    /// <exception cref="BadHttpRequestException">The body is too large (413) or was cut off.</exception>
    public static async Task<ReadOnlyMemory<byte>> ReadBodyAsync(HttpRequest request, long maxBytes, CancellationToken cancellationToken)
    {
        if (request.ContentLength is not { } length) return await ReadChunkedAsync(request.Body, maxBytes, cancellationToken);
        if (length > maxBytes) throw TooLarge(length, maxBytes);
        var body = new byte[length];
        try
        {
            await request.Body.ReadExactlyAsync(body, cancellationToken);
        }
        catch (EndOfStreamException)
        {
            throw new BadHttpRequestException($"The request body ended before its Content-Length of {length} bytes.", StatusCodes.Status400BadRequest);
        }

        return body;
    }

    /// <summary>
    /// A body without a length (chunked) is counted as it comes, in blocks that double from 16 KiB to 1 MiB, then copied
    /// once into a buffer of its size: about twice its size in all, where a buffer that doubles as it grows may cost four
    /// times. A body past the limit is refused at the block that crosses it, before any copy.
    /// </summary>
    private static async Task<byte[]> ReadChunkedAsync(Stream body, long maxBytes, CancellationToken cancellationToken)
    {
        var blocks = new List<(byte[] Block, int Filled)>();
        var total = 0L;
        for (var size = 16 * 1024; ; size = Math.Min(size * 2, 1024 * 1024))
        {
            var block = new byte[size];
            var filled = 0;
            int read;
            while (filled < size && (read = await body.ReadAsync(block.AsMemory(filled), cancellationToken)) > 0)
            {
                filled += read;
                if (total + filled > maxBytes) throw TooLarge(total + filled, maxBytes);
            }

            blocks.Add((block, filled));
            total += filled;
            if (filled < size) break; // the body ended
        }

        var whole = new byte[total];
        var at = 0;
        foreach (var (block, filled) in blocks)
        {
            block.AsSpan(0, filled).CopyTo(whole.AsSpan(at));
            at += filled;
        }

        return whole;
    }

    private static BadHttpRequestException TooLarge(long bytes, long maxBytes) =>
        new($"The request body is too large: {(bytes > maxBytes ? $"more than {maxBytes}" : $"{bytes}")} bytes; Gateway:MaxRequestBytes allows {maxBytes}.", StatusCodes.Status413PayloadTooLarge);

    /// <summary>Reads the envelope of a call from a body of UTF-8 JSON.</summary>
    /// <exception cref="ArgumentException">The body breaks a rule; the message names the field and the rule.</exception>
    public static GatewayRequest Parse(ReadOnlyMemory<byte> body)
    {
        if (!Utf8.IsValid(body.Span))
            throw new ArgumentException($"The request body is not valid UTF-8 (the first bad byte is at offset {FirstInvalidUtf8(body.Span)}): a grain call is JSON text in UTF-8.", "body");
        try
        {
            return ParseJson(body);
        }
        catch (InvalidOperationException e)
        {
            // A field name with an escape that is no text, such as a lone \ud800.
            throw new ArgumentException($"The request body has a field name that is not valid text: {e.Message}", "body");
        }
        catch (JsonException e)
        {
            throw new ArgumentException($"The request body is not valid JSON (at most {MaxDepth} levels deep, no comments): {e.Message}", "body");
        }
    }

    private static GatewayRequest ParseJson(ReadOnlyMemory<byte> body)
    {
        var reader = new Utf8JsonReader(body.Span, ReaderOptions);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            throw new ArgumentException($"The request body must be a JSON object with {Fields}.", "body");
        string? @interface = null, key = null, method = null;
        List<Range>? arguments = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var name = reader.GetString()!;
            reader.Read();
            switch (name.ToLowerInvariant())
            {
                case "interface": @interface = ReadEnvelopeString(ref reader, name, @interface); break;
                case "key": key = ReadEnvelopeString(ref reader, name, key); break;
                case "method": method = ReadEnvelopeString(ref reader, name, method); break;
                case "arguments":
                    if (arguments is not null) throw Duplicate(name);
                    arguments = ReadArgumentRanges(ref reader);
                    break;
                default:
                    throw new ArgumentException($"{QueueLimits.Echo(name)} is not a field of a grain call: it has {Fields}; unknown fields are refused, not ignored.", name);
            }
        }

        if (reader.Read())
            throw new ArgumentException("The request body has more after the grain call's object: send one JSON object.", "body");
        var missing = @interface is null ? "interface" : key is null ? "key" : method is null ? "method" : arguments is null ? "arguments" : null;
        if (missing is not null)
            throw new ArgumentException($"A grain call needs {Fields}; '{missing}' is missing.", missing);
        ValidateKey(key!);
        return new GatewayRequest(body, @interface!, key!, method!, arguments!);
    }

    private static string ReadEnvelopeString(ref Utf8JsonReader reader, string name, string? earlier)
    {
        if (earlier is not null) throw Duplicate(name);
        if (reader.TokenType != JsonTokenType.String)
            throw new ArgumentException($"'{name}' must be a JSON string; it is {Describe(reader.TokenType)}.", name);
        return reader.GetString()!;
    }

    private static List<Range> ReadArgumentRanges(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
            throw new ArgumentException($"'arguments' must be a JSON array with one value per parameter; it is {Describe(reader.TokenType)}.", "arguments");
        var ranges = new List<Range>();
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            // Counted before the value is read on: ten million arguments stop here, at the 17th.
            if (ranges.Count == MaxArguments)
                throw new ArgumentException($"'arguments' lists more than {MaxArguments} values: no grain method takes that many.", "arguments");
            var start = (int)reader.TokenStartIndex;
            reader.Skip();
            ranges.Add(start..(int)reader.BytesConsumed);
        }

        return ranges;
    }

    /// <summary>A grain key: 1 to <see cref="QueueLimits.MaxQueueKeyLength"/> characters, none of them control characters.</summary>
    private static void ValidateKey(string key)
    {
        if (key.Length is 0 or > QueueLimits.MaxQueueKeyLength)
            throw new ArgumentException($"'key' must be 1 to {QueueLimits.MaxQueueKeyLength} characters (the longest queue@node); it is {key.Length}: {QueueLimits.Echo(key)}.", "key");
        if (QueueLimits.IndexOfControl(key) is var control and >= 0)
            throw new ArgumentException($"'key' has control character U+{(int)key[control]:X4} at position {control}: grain keys are printable text.", "key");
    }

    private static ArgumentException Duplicate(string name) =>
        new($"'{name}' appears twice in the grain call: each field may be sent once.", name);

    /// <summary>How an error names a JSON token that is not what a field needs.</summary>
    public static string Describe(JsonTokenType token) => token switch
    {
        JsonTokenType.StartObject => "an object",
        JsonTokenType.StartArray => "an array",
        JsonTokenType.String => "a string",
        JsonTokenType.Number => "a number",
        JsonTokenType.True or JsonTokenType.False => "a boolean",
        JsonTokenType.Null => "null",
        _ => token.ToString(),
    };

    private static int FirstInvalidUtf8(ReadOnlySpan<byte> bytes)
    {
        // Utf8.IsValid says whether; ToUtf16 on a small window says where.
        Span<char> sink = stackalloc char[1024];
        var offset = 0;
        while (offset < bytes.Length)
        {
            var status = Utf8.ToUtf16(bytes[offset..], sink, out var read, out _, replaceInvalidSequences: false, isFinalBlock: true);
            if (status == System.Buffers.OperationStatus.InvalidData) return offset + read;
            offset += read;
            if (status == System.Buffers.OperationStatus.Done) break;
        }

        return offset;
    }
}
