using System.Text.Json;
using System.Text.Json.Serialization;
using Orleans.Jobs.Grains.Interfaces.Code;

namespace Orleans.Jobs.Grains.Code;

/// <summary>
/// The lines a silo and its code host (<c>Orleans.Jobs.CodeHost</c>, a child process) exchange: one JSON object per
/// line, requests on the child's stdin, replies on its stdout. The child's first line is <see cref="CodeHostReply.Ready"/>.
/// </summary>
internal static class CodeHostProtocol
{
    /// <summary>camelCase names, nulls left out, one line per object (JSON strings escape their line breaks).</summary>
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>One object as one line.</summary>
    public static string ToLine<T>(T message) => JsonSerializer.Serialize(message, Json);

    /// <summary>The object of a line; null when the line is not one (job code may write anywhere).</summary>
    public static T? FromLine<T>(string line)
        where T : class
    {
        try
        {
            return line.StartsWith('{') ? JsonSerializer.Deserialize<T>(line, Json) : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}

/// <summary>Run <see cref="Function"/> of the code in <see cref="AssemblyPath"/> (posted under <see cref="Hash"/>).</summary>
/// <param name="Id">The call, from 1; its reply carries it.</param>
/// <param name="Hash">The posted code's hash: the file's SHA-256, checked before loading it.</param>
/// <param name="AssemblyPath">The assembly, in the silo's cache.</param>
/// <param name="SymbolsPath">Its portable PDB, when it has one.</param>
/// <param name="Function"><c>Namespace.Type.Method</c>.</param>
/// <param name="Args">The arguments: JSON text, passed to the function as it is.</param>
/// <param name="JobId">The job that called it, if any.</param>
/// <param name="Attempt">The job's attempt.</param>
/// <param name="SiloId">The silo, for <see cref="PostedCallContext.SiloId"/>.</param>
/// <param name="ResultAsJson">True to get a text result as a JSON string too (work streams record every result as JSON).</param>
internal sealed record CodeHostRequest(
    long Id,
    string Hash,
    string AssemblyPath,
    string? SymbolsPath,
    string Function,
    string Args,
    long? JobId,
    int Attempt,
    string SiloId,
    bool ResultAsJson = false);

/// <summary>
/// The end of one call: <see cref="Result"/> when it returned (null for nothing), or <see cref="Failure"/> — the
/// <see cref="PostedCodeException"/>'s message — with <see cref="Error"/> when the function threw.
/// </summary>
internal sealed record CodeHostReply(long Id, string? Result = null, string? Failure = null, PostedCodeError? Error = null)
{
    /// <summary>The child's first line, <c>{"id":0,"result":"ready"}</c>: it is up and reads requests.</summary>
    public static CodeHostReply Ready { get; } = new(0, Result: "ready");
}
