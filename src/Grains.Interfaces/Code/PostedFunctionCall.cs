using System.Text;
using System.Text.Json;

namespace Orleans.Jobs.Grains.Interfaces.Code;

/// <summary>
/// A call of a posted function: run <see cref="Function"/> of the code posted under <see cref="Hash"/> with
/// <see cref="Args"/>. As a job of the built-in <see cref="PostedCodeRules.Queue"/> queue its payload is
/// <c>{"hash": "…", "function": "Namespace.Type.Method", "args": &lt;any JSON&gt;}</c>.
/// </summary>
/// <param name="Hash">The posted code's SHA-256, 64 lowercase hex digits.</param>
/// <param name="Function">The public static method to run, <c>Namespace.Type.Method</c> (nested types: <c>Outer+Inner</c>).</param>
/// <param name="Args">The arguments as JSON text; the function receives this text. <c>{}</c> when absent.</param>
public sealed record PostedFunctionCall(string Hash, string Function, string Args = PostedFunctionCall.NoArgs)
{
    /// <summary>The arguments of a call that gives none.</summary>
    public const string NoArgs = "{}";

    /// <summary>Checks the hash, the function name and that the arguments are JSON of payload size.</summary>
    /// <exception cref="ArgumentException">A part breaks its rule; the message names it.</exception>
    public void Validate()
    {
        PostedCodeRules.ValidateHash(Hash, "hash");
        PostedCodeRules.ValidateFunctionName(Function, "function");
        QueueLimits.ValidatePayload(Args, "args");
        try
        {
            using var _ = JsonDocument.Parse(Args);
        }
        catch (JsonException e)
        {
            throw new ArgumentException($"The args are not valid JSON: {e.Message}", "args", e);
        }
    }

    /// <summary>The job payload.</summary>
    public string ToPayload()
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("hash", Hash);
            writer.WriteString("function", Function);
            writer.WritePropertyName("args");
            writer.WriteRawValue(Args);
            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>Reads a job payload.</summary>
    /// <exception cref="ArgumentException">The payload is not a posted-function call.</exception>
    public static PostedFunctionCall FromPayload(string payload)
    {
        try
        {
            using var document = JsonDocument.Parse(payload);
            var root = document.RootElement;
            if (root.ValueKind == JsonValueKind.Object
                && root.TryGetProperty("hash", out var hash) && hash.ValueKind == JsonValueKind.String
                && root.TryGetProperty("function", out var function) && function.ValueKind == JsonValueKind.String)
            {
                var args = root.TryGetProperty("args", out var a) ? a.GetRawText() : NoArgs;
                return new PostedFunctionCall(hash.GetString()!, function.GetString()!, args);
            }
        }
        catch (JsonException)
        {
        }

        throw new ArgumentException($"The payload is not a posted-function call ({{\"hash\", \"function\", \"args\"}}): {PostedCodeRules.Shorten(payload)}", nameof(payload));
    }
}
