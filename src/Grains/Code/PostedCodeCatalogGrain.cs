using System.Runtime.ExceptionServices;
using Orleans.Jobs.Grains.Interfaces.Code;
using Orleans.Runtime;

namespace Orleans.Jobs.Grains.Code;

/// <summary>The persistent state of the posted-code catalog.</summary>
[GenerateSerializer, Alias("jobs.PostedCodeCatalogState")]
public sealed class PostedCodeCatalogState
{
    /// <summary>The entries by hash; at most <see cref="PostedCodeRules.MaxCatalogEntries"/>.</summary>
    [Id(0)] public Dictionary<string, PostedCodeInfo> Entries { get; set; } = [];
}

/// <summary>
/// The list of posted code. It holds metadata only (the bytes stay in each version's grain), and at most
/// <see cref="PostedCodeRules.MaxCatalogEntries"/> entries, so its state stays small.
/// </summary>
public sealed class PostedCodeCatalogGrain(
    [PersistentState("posted-code-catalog", JobGrainStorage.Name)] IPersistentState<PostedCodeCatalogState> state,
    ClusterKeyCheck clusterKey,
    TimeProvider timeProvider) : Grain, IPostedCodeCatalogGrain
{
    /// <inheritdoc />
    public async Task RecordAsync(string sentKey, PostedCodeInfo info)
    {
        clusterKey.Demand(sentKey, "Recording posted code");
        ArgumentNullException.ThrowIfNull(info);
        PostedCodeRules.ValidateHash(info.Hash, nameof(info));
        var entries = state.State.Entries;
        if (entries.TryGetValue(info.Hash, out var known) && known == info) return;
        if (known is null && entries.Count >= PostedCodeRules.MaxCatalogEntries)
        {
            var oldestRemoved = entries.Values.Where(e => e.IsRemoved).MinBy(e => e.RemovedAt)
                ?? throw new InvalidOperationException($"The posted-code catalog is full: {entries.Count} versions are posted and none is removed (the limit is {PostedCodeRules.MaxCatalogEntries}). Remove versions no longer needed, then post again.");
            entries.Remove(oldestRemoved.Hash);
        }

        entries[info.Hash] = info;
        await WriteAsync();
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<string>> CollectAsync(string sentKey, TimeSpan olderThan)
    {
        clusterKey.Demand(sentKey, "Collecting removed posted code");
        PostedCodeRules.ValidateCollectAge(olderThan, nameof(olderThan));
        var removedBefore = timeProvider.GetUtcNow() - olderThan;
        var forgets = state.State.Entries.Values
            .Where(e => e.RemovedAt <= removedBefore)
            .Select(e => (e.Hash, Forgotten: GrainFactory.GetGrain<IPostedCodeGrain>(e.Hash).ForgetAsync(sentKey, removedBefore)))
            .ToList();
        Exception? failure = null;
        try
        {
            await Task.WhenAll(forgets.Select(f => f.Forgotten));
        }
        catch (Exception e)
        {
            failure = e;
        }

        // Drop the entry of every version forgotten, even when another one failed: a version without a record must not
        // stay listed. An entry whose version kept its record (posted again meanwhile) stays.
        var forgotten = forgets.Where(f => f.Forgotten.IsCompletedSuccessfully && f.Forgotten.Result).Select(f => f.Hash).ToList();
        foreach (var hash in forgotten) state.State.Entries.Remove(hash);
        if (forgotten.Count > 0) await WriteAsync();
        if (failure is not null) ExceptionDispatchInfo.Throw(failure);
        return forgotten;
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<PostedCodeInfo>> ListAsync(bool includeRemoved = false)
    {
        IReadOnlyList<PostedCodeInfo> list = [.. state.State.Entries.Values
            .Where(e => includeRemoved || !e.IsRemoved)
            .OrderBy(e => e.SubmittedAt)
            .ThenBy(e => e.Hash, StringComparer.Ordinal)];
        return Task.FromResult(list);
    }

    /// <summary>Writes the entries; after a failed write reads them back, so the catalog never lists what is not stored.</summary>
    private async Task WriteAsync()
    {
        try
        {
            await state.WriteStateAsync();
        }
        catch
        {
            await state.ReadStateAsync();
            throw;
        }
    }
}
