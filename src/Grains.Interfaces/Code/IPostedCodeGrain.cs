using Orleans.Concurrency;

namespace Orleans.Jobs.Grains.Interfaces.Code;

/// <summary>
/// One version of posted code, keyed by its hash (JobMon's <c>jobs:sources</c> entry): the assembly's bytes and what
/// was recorded with it, in Orleans grain state. Silos fetch the bytes to load the code on demand. Posting, fetching
/// and removing need the cluster key (the silos' <c>Gateway:ClusterKey</c>).
/// </summary>
[Alias("jobs.posted-code")]
public interface IPostedCodeGrain : IGrainWithStringKey
{
    /// <summary>
    /// Stores the assembly under this grain's key, which must be its SHA-256, and lists it in the catalog. Posting the
    /// same bytes again returns what was recorded the first time (a retried post is safe); after a removal it stores
    /// them again as a new post.
    /// </summary>
    /// <exception cref="UnauthorizedAccessException">The cluster key is missing or wrong; nothing was stored.</exception>
    /// <exception cref="ArgumentException">The upload breaks a rule (<see cref="PostedCodeRules"/>) or the key is not its hash; nothing was stored.</exception>
    /// <exception cref="InvalidOperationException">The catalog is full of live versions; nothing was stored.</exception>
    [Alias("post")]
    Task<PostedCodeInfo> PostAsync(string clusterKey, PostedCodeUpload upload);

    /// <summary>What was recorded, removed or not; null when nothing was ever posted under this hash.</summary>
    [Alias("get-info"), ReadOnly]
    Task<PostedCodeInfo?> GetInfoAsync();

    /// <summary>The assembly's bytes and its symbols, for a silo loading it; null when never posted or removed.</summary>
    /// <exception cref="UnauthorizedAccessException">The cluster key is missing or wrong.</exception>
    [Alias("get-assembly-and-symbols"), ReadOnly]
    Task<PostedAssembly?> GetAssemblyAsync(string clusterKey);

    /// <summary>
    /// Removes the version: its bytes are deleted, the catalog marks it removed, new jobs for it are refused, and
    /// each silo unloads it once its running jobs end. False when it was not posted or already removed.
    /// </summary>
    /// <exception cref="UnauthorizedAccessException">The cluster key is missing or wrong; nothing changed.</exception>
    [Alias("remove")]
    Task<bool> RemoveAsync(string clusterKey);

    /// <summary>
    /// Forgets a version removed at or before <paramref name="removedBefore"/> (garbage collection, called by
    /// <see cref="IPostedCodeCatalogGrain.CollectAsync"/>): its record, the tombstone that tells jobs it was removed, is
    /// deleted, so the hash reads as never posted and may be posted again. True when nothing is recorded any more;
    /// false, changing nothing, when the version is live, was removed later, or is being posted or removed right now.
    /// It interleaves with a post or removal in progress (which may be waiting on the catalog that calls this), so
    /// the two grains never wait on each other.
    /// </summary>
    /// <exception cref="UnauthorizedAccessException">The cluster key is missing or wrong; nothing changed.</exception>
    [Alias("forget"), AlwaysInterleave]
    Task<bool> ForgetAsync(string clusterKey, DateTimeOffset removedBefore);
}

/// <summary>
/// The list of posted code (JobMon's <c>jobm source</c>): one entry per hash with its description, submit time, git
/// commit, size and removal. Keyed by 0. The per-hash grains keep it up to date; recording needs the cluster key.
/// </summary>
[Alias("jobs.posted-code-catalog")]
public interface IPostedCodeCatalogGrain : IGrainWithIntegerKey
{
    /// <summary>Adds or updates the entry of <paramref name="info"/>'s hash (called by <see cref="IPostedCodeGrain"/>).</summary>
    /// <exception cref="UnauthorizedAccessException">The cluster key is missing or wrong.</exception>
    /// <exception cref="InvalidOperationException">A new entry would pass <see cref="PostedCodeRules.MaxCatalogEntries"/> and none is removed.</exception>
    [Alias("record")]
    Task RecordAsync(string clusterKey, PostedCodeInfo info);

    /// <summary>
    /// JobMon's gc: forgets the versions removed more than <paramref name="olderThan"/> ago (by the silo's clock). Each
    /// one's record is deleted (<see cref="IPostedCodeGrain.ForgetAsync"/>) and its entry dropped, so its hash reads as
    /// never posted and may be posted again. Live versions are never touched. Returns the hashes forgotten.
    /// </summary>
    /// <exception cref="UnauthorizedAccessException">The cluster key is missing or wrong; nothing changed.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="olderThan"/> is outside 0 to <see cref="PostedCodeRules.MaxCollectAfter"/>; nothing changed.</exception>
    [Alias("collect")]
    Task<IReadOnlyList<string>> CollectAsync(string clusterKey, TimeSpan olderThan);

    /// <summary>The entries, oldest post first; removed ones only when asked.</summary>
    [Alias("list"), ReadOnly]
    Task<IReadOnlyList<PostedCodeInfo>> ListAsync(bool includeRemoved = false);
}
