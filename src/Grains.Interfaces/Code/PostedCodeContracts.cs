using System.Text.Json.Serialization;

namespace Orleans.Jobs.Grains.Interfaces.Code;

/// <summary>
/// One posted assembly as the catalog lists it (JobMon's <c>jobs:descs</c>, <c>jobs:times</c> and
/// <c>jobs:githashes</c> in one record).
/// </summary>
/// <param name="Hash">The SHA-256 of the assembly's bytes, 64 lowercase hex digits: the version's name.</param>
/// <param name="Description">What the poster said it is.</param>
/// <param name="SubmittedAt">When it was posted (the first post of these bytes, or the post after a removal).</param>
/// <param name="GitCommit">The commit of the repository it was posted from, when there was one.</param>
/// <param name="Size">The assembly's size in bytes.</param>
/// <param name="AssemblyName">The assembly's full name, from its metadata.</param>
/// <param name="RemovedAt">When it was removed; null while it may run.</param>
[GenerateSerializer, Immutable, Alias("jobs.PostedCodeInfo")]
public sealed record PostedCodeInfo(
    [property: Id(0)] string Hash,
    [property: Id(1)] string Description,
    [property: Id(2)] DateTimeOffset SubmittedAt,
    [property: Id(3)] string? GitCommit,
    [property: Id(4)] long Size,
    [property: Id(5)] string AssemblyName,
    [property: Id(6)] DateTimeOffset? RemovedAt = null)
{
    /// <summary>True once removed: new jobs for it are refused.</summary>
    public bool IsRemoved => RemovedAt is not null;
}

/// <summary>What a client posts: the bytes of a .NET assembly, its symbols, and what to record about it.</summary>
/// <param name="Assembly">The assembly (a .dll as the compiler wrote it).</param>
/// <param name="Description">What it is, for people reading the catalog.</param>
/// <param name="GitCommit">The commit of the repository it was built from (40 or 64 hex digits), or null.</param>
/// <param name="Symbols">
/// The assembly's portable PDB (the .pdb the compiler wrote with it), so errors carry line numbers; null for none (an
/// assembly built with an embedded PDB needs none). Not part of the hash.
/// </param>
[GenerateSerializer, Immutable, Alias("jobs.PostedCodeUpload")]
public sealed record PostedCodeUpload(
    [property: Id(0)] byte[] Assembly,
    [property: Id(1)] string Description,
    [property: Id(2)] string? GitCommit = null,
    [property: Id(3)] byte[]? Symbols = null);

/// <summary>A stored version's bytes, as a silo fetches them to load it.</summary>
/// <param name="Assembly">The assembly.</param>
/// <param name="Symbols">Its portable PDB, when one was posted.</param>
[GenerateSerializer, Immutable, Alias("jobs.PostedAssembly")]
public sealed record PostedAssembly(
    [property: Id(0)] byte[] Assembly,
    [property: Id(1)] byte[]? Symbols);

/// <summary>
/// What a posted function gets besides its arguments when it declares a parameter of this type. The type comes from
/// the silo's own copy of this assembly (posted code shares it), so a function compiled against Orleans.Jobs'
/// contracts takes it as it is.
/// </summary>
public sealed class PostedCallContext
{
    /// <summary>The hash of the posted code the function belongs to.</summary>
    public required string Hash { get; init; }

    /// <summary>The function, <c>Namespace.Type.Method</c>.</summary>
    public required string Function { get; init; }

    /// <summary>The silo running it: its Orleans silo address, generation included.</summary>
    public required string SiloId { get; init; }

    /// <summary>The job that called it, when a job did (the built-in <c>code</c> queue).</summary>
    public long? JobId { get; init; }

    /// <summary>Which attempt of the job this is, from 1 (1 when no job called it).</summary>
    public int Attempt { get; init; } = 1;

    /// <summary>Cancelled when the silo stops or the job's lease is lost: stop then.</summary>
    public CancellationToken CancellationToken { get; init; }
}

/// <summary>
/// What a posted function threw, as Impetus recorded it (<c>{"error", "name", "linenumber", "statement"}</c>): text
/// only, so nothing of the posted code is kept alive by it. Round-trips through System.Text.Json with camelCase names.
/// </summary>
/// <param name="Message">The exception's message.</param>
/// <param name="ExceptionType">The exception's type, with its namespace (<c>System.InvalidOperationException</c>).</param>
/// <param name="Function">The posted function that was called, <c>Namespace.Type.Method</c>.</param>
/// <param name="Frame">
/// Where it was thrown: the method (<c>Type.Method</c>) of the deepest stack frame in the posted assembly; null when no
/// frame of it is on the stack.
/// </param>
/// <param name="Line">That frame's line number; null without symbols.</param>
/// <param name="Statement">That line of source, trimmed; null when the PDB embeds no source and the file is not on this machine.</param>
/// <param name="File">That frame's source document as the PDB names it; null without symbols.</param>
[GenerateSerializer, Immutable, Alias("jobs.PostedCodeError")]
public sealed record PostedCodeError(
    [property: Id(0), JsonPropertyName("message")] string Message,
    [property: Id(1), JsonPropertyName("exceptionType")] string ExceptionType,
    [property: Id(2), JsonPropertyName("function")] string Function,
    [property: Id(3), JsonPropertyName("frame")] string? Frame,
    [property: Id(4), JsonPropertyName("line")] int? Line,
    [property: Id(5), JsonPropertyName("statement")] string? Statement,
    [property: Id(6), JsonPropertyName("file")] string? File);

/// <summary>Posted code could not run a function: unknown hash, removed version, unknown function, unsupported signature, or the function threw.</summary>
/// <param name="message">What went wrong.</param>
/// <param name="error">What the function threw, when it threw.</param>
[GenerateSerializer, Alias("jobs.PostedCodeException")]
public sealed class PostedCodeException(string message, PostedCodeError? error = null) : Exception(message)
{
    /// <summary>What the function threw, with where; null when the call failed before the function ran (unknown hash, function, …).</summary>
    [Id(0)]
    public PostedCodeError? Error { get; } = error;
}
