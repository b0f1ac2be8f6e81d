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

/// <summary>What a client posts: the bytes of a .NET assembly and what to record about it.</summary>
/// <param name="Assembly">The assembly (a .dll as the compiler wrote it).</param>
/// <param name="Description">What it is, for people reading the catalog.</param>
/// <param name="GitCommit">The commit of the repository it was built from (40 or 64 hex digits), or null.</param>
[GenerateSerializer, Immutable, Alias("jobs.PostedCodeUpload")]
public sealed record PostedCodeUpload(
    [property: Id(0)] byte[] Assembly,
    [property: Id(1)] string Description,
    [property: Id(2)] string? GitCommit = null);

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

/// <summary>Posted code could not run a function: unknown hash, removed version, unknown function, unsupported signature, or the function threw.</summary>
public sealed class PostedCodeException(string message) : Exception(message);
