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
    ClusterKeyCheck clusterKey) : Grain, IPostedCodeCatalogGrain
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
        try
        {
            await state.WriteStateAsync();
        }
        catch
        {
            await state.ReadStateAsync(); // never list what is not stored
            throw;
        }
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
}
