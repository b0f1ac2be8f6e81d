using Microsoft.Extensions.Logging;
using Orleans.Jobs.Grains.Interfaces.Code;
using Orleans.Runtime;

namespace Orleans.Jobs.Grains.Code;

/// <summary>The persistent state of one version of posted code.</summary>
[GenerateSerializer, Alias("jobs.PostedCodeState")]
public sealed class PostedCodeState
{
    /// <summary>What was recorded; null until posted.</summary>
    [Id(0)] public PostedCodeInfo? Info { get; set; }

    /// <summary>The assembly; null until posted and after removal (the record stays, so jobs learn it was removed).</summary>
    [Id(1)] public byte[]? Assembly { get; set; }

    /// <summary>The assembly's portable PDB, when one was posted; gone with the assembly.</summary>
    [Id(2)] public byte[]? Symbols { get; set; }
}

/// <summary>
/// One version of posted code, keyed by its SHA-256. The catalog is written before the bytes: a post that fails in
/// between leaves a listed version without bytes (its jobs fail as unknown) until the same bytes are posted again.
/// </summary>
public sealed partial class PostedCodeGrain(
    [PersistentState("posted-code", JobGrainStorage.Name)] IPersistentState<PostedCodeState> state,
    ClusterKeyCheck clusterKey,
    TimeProvider timeProvider,
    ILogger<PostedCodeGrain> logger) : Grain, IPostedCodeGrain
{
    private string Hash => this.GetPrimaryKeyString();

    private IPostedCodeCatalogGrain Catalog => GrainFactory.GetGrain<IPostedCodeCatalogGrain>(0);

    /// <summary>True while a post or removal runs: <see cref="ForgetAsync"/> interleaves with them and must then keep the version.</summary>
    private bool _changing;

    /// <inheritdoc />
    public Task<PostedCodeInfo> PostAsync(string sentKey, PostedCodeUpload upload) => ChangingAsync(() => PostCoreAsync(sentKey, upload));

    private async Task<PostedCodeInfo> PostCoreAsync(string sentKey, PostedCodeUpload upload)
    {
        clusterKey.Demand(sentKey, "Posting code");
        PostedCodeRules.ValidateHash(Hash, "hash");
        var assemblyName = PostedCodeRules.ValidateUpload(upload);
        var actual = PostedCodeRules.HashOf(upload.Assembly);
        if (actual != Hash)
            throw new ArgumentException($"The assembly's SHA-256 is {actual}, not {Hash}: post code under its own hash (PostedCode.PostAsync does).", "hash");

        if (state.State is { Info.IsRemoved: false, Assembly: not null } stored)
        {
            await Catalog.RecordAsync(sentKey, stored.Info); // a retried post may find the catalog without it
            return stored.Info;
        }

        var info = new PostedCodeInfo(Hash, upload.Description, timeProvider.GetUtcNow(), upload.GitCommit, upload.Assembly.Length, assemblyName);
        await Catalog.RecordAsync(sentKey, info);
        await SaveAsync(info, upload.Assembly, upload.Symbols);
        LogPosted(Hash, assemblyName, upload.Assembly.Length, upload.Description);
        return info;
    }

    /// <inheritdoc />
    public Task<PostedCodeInfo?> GetInfoAsync() => Task.FromResult(state.State.Info);

    /// <inheritdoc />
    public Task<PostedAssembly?> GetAssemblyAsync(string sentKey)
    {
        clusterKey.Demand(sentKey, "Fetching posted code");
        return Task.FromResult(state.State.Assembly is { } assembly ? new PostedAssembly(assembly, state.State.Symbols) : null);
    }

    /// <inheritdoc />
    public Task<bool> RemoveAsync(string sentKey) => ChangingAsync(() => RemoveCoreAsync(sentKey));

    private async Task<bool> RemoveCoreAsync(string sentKey)
    {
        clusterKey.Demand(sentKey, "Removing posted code");
        if (state.State.Info is not { } info) return false;
        if (info.IsRemoved)
        {
            await Catalog.RecordAsync(sentKey, info); // a retried removal may find the catalog without it
            return false;
        }

        var removed = info with { RemovedAt = timeProvider.GetUtcNow() };
        await SaveAsync(removed, null, null);
        await Catalog.RecordAsync(sentKey, removed);
        LogRemoved(Hash, info.Description);
        return true;
    }

    /// <inheritdoc />
    public async Task<bool> ForgetAsync(string sentKey, DateTimeOffset removedBefore)
    {
        clusterKey.Demand(sentKey, "Forgetting posted code");
        if (_changing) return false;
        if (state.State.Info is not { } info) return true; // nothing recorded: a retried collection finds it forgotten
        if (info.RemovedAt is not { } removedAt || removedAt > removedBefore) return false;

        await ChangingAsync(async () =>
        {
            await state.ClearStateAsync();
            return true;
        });
        LogForgotten(Hash, info.Description, removedAt);
        DeactivateOnIdle(); // nothing left to serve
        return true;
    }

    /// <summary>Runs a post, removal or forgetting with <see cref="_changing"/> set.</summary>
    private async Task<T> ChangingAsync<T>(Func<Task<T>> change)
    {
        _changing = true;
        try
        {
            return await change();
        }
        finally
        {
            _changing = false;
        }
    }

    /// <summary>Writes the state; a failed write leaves the activation as it was, so it never serves what is not stored.</summary>
    private async Task SaveAsync(PostedCodeInfo info, byte[]? assembly, byte[]? symbols)
    {
        var (oldInfo, oldAssembly, oldSymbols) = (state.State.Info, state.State.Assembly, state.State.Symbols);
        (state.State.Info, state.State.Assembly, state.State.Symbols) = (info, assembly, symbols);
        try
        {
            await state.WriteStateAsync();
        }
        catch
        {
            (state.State.Info, state.State.Assembly, state.State.Symbols) = (oldInfo, oldAssembly, oldSymbols);
            throw;
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Posted code {Hash}: {AssemblyName}, {Size} bytes, '{Description}'")]
    private partial void LogPosted(string hash, string assemblyName, int size, string description);

    [LoggerMessage(Level = LogLevel.Information, Message = "Removed posted code {Hash} ('{Description}')")]
    private partial void LogRemoved(string hash, string description);

    [LoggerMessage(Level = LogLevel.Information, Message = "Forgot posted code {Hash} ('{Description}', removed at {RemovedAt})")]
    private partial void LogForgotten(string hash, string description, DateTimeOffset removedAt);
}
