using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Jobs.Grains.Interfaces.Code;
using Orleans.Runtime;

namespace Orleans.Jobs.Grains.Code;

/// <summary>
/// Runs functions of posted code on this silo: <c>RunAsync(new PostedFunctionCall(hash, "Ns.Type.Method", args))</c>.
/// A version is fetched from its grain and loaded the first time this silo needs it (one collectible load context
/// per hash, so versions run side by side and nothing restarts). Every call first asks the version's grain whether
/// it may run, so a removed version is refused at once; <see cref="CheckLoadedAsync"/> (called every
/// <see cref="PostedCodeOptions.CheckPeriod"/>) also unloads versions removed or idle while no call came by. The
/// built-in <c>code</c> queue's handler calls it, and so can any silo-side service.
/// </summary>
public sealed partial class PostedCodeRunner(
    IGrainFactory grains,
    ClusterKeyCheck clusterKey,
    ILocalSiloDetails silo,
    IOptions<PostedCodeOptions> options,
    TimeProvider timeProvider,
    ILogger<PostedCodeRunner> logger)
{
    private readonly ConcurrentDictionary<string, Lazy<Task<LoadedCode>>> _loaded = new(StringComparer.Ordinal);

    /// <summary>The hashes of the versions loaded on this silo now.</summary>
    public IReadOnlyList<string> Loaded => [.. _loaded.Where(e => e.Value.IsValueCreated && e.Value.Value.IsCompletedSuccessfully).Select(e => e.Key).Order(StringComparer.Ordinal)];

    /// <summary>
    /// Runs a posted function and returns its result: text as the function returned it, other values as JSON, null
    /// for none (with <paramref name="resultAsJson"/>, text too is returned as JSON). <paramref name="jobId"/> and
    /// <paramref name="attempt"/> reach a function that takes a <see cref="PostedCallContext"/>.
    /// </summary>
    /// <exception cref="ArgumentException">The call breaks a rule (hash, function name, args).</exception>
    /// <exception cref="PostedCodeException">Nothing is posted under the hash, it was removed, the function is unknown or unsupported, or it threw.</exception>
    public async Task<string?> RunAsync(PostedFunctionCall call, long? jobId = null, int attempt = 1, CancellationToken cancellationToken = default, bool resultAsJson = false)
    {
        ArgumentNullException.ThrowIfNull(call);
        call.Validate();
        await RefuseUnavailableAsync(call.Hash, cancellationToken);

        var context = new PostedCallContext
        {
            Hash = call.Hash,
            Function = call.Function,
            SiloId = SiloId,
            JobId = jobId,
            Attempt = attempt,
            CancellationToken = cancellationToken,
        };
        var code = await EnterAsync(call.Hash, cancellationToken);
        try
        {
            return await code.InvokeAsync(call.Args, context, resultAsJson);
        }
        finally
        {
            code.Exit(timeProvider.GetUtcNow());
        }
    }

    /// <summary>
    /// Unloads the versions whose grain says they were removed (or were never posted), and those no call used for
    /// <see cref="PostedCodeOptions.IdleUnloadAfter"/>. A version with running calls unloads when they end.
    /// </summary>
    public async Task CheckLoadedAsync(CancellationToken cancellationToken)
    {
        var idleSince = timeProvider.GetUtcNow() - options.Value.IdleUnloadAfter;
        foreach (var (hash, entry) in _loaded)
        {
            if (!entry.IsValueCreated || !entry.Value.IsCompletedSuccessfully) continue;
            var info = await Version(hash).GetInfoAsync().WaitAsync(cancellationToken);
            if (info is null or { IsRemoved: true }) Retire(hash, entry, "removed");
            else Retire(hash, entry, "idle", idleSince);
        }
    }

    /// <summary>This silo's id as posted functions see it (<see cref="PostedCallContext.SiloId"/>).</summary>
    public string SiloId => silo.SiloAddress.ToParsableString();

    /// <summary>
    /// Refuses a call of a version that is not posted or was removed, as <see cref="RunAsync"/> does first (retiring
    /// it on this silo): for callers that run the code elsewhere, such as a child process.
    /// </summary>
    /// <exception cref="PostedCodeException">Nothing is posted under <paramref name="hash"/>, or it was removed.</exception>
    public async Task RefuseUnavailableAsync(string hash, CancellationToken cancellationToken)
    {
        var info = await Version(hash).GetInfoAsync().WaitAsync(cancellationToken);
        RefuseUnavailable(hash, info);
    }

    /// <summary>The stored assembly and symbols of a version, fetched with the cluster key and checked against its hash.</summary>
    /// <exception cref="PostedCodeException">No assembly is stored under <paramref name="hash"/>, or it has another hash.</exception>
    public async Task<PostedAssembly> FetchAsync(string hash, CancellationToken cancellationToken = default)
    {
        var stored = await Version(hash).GetAssemblyAsync(clusterKey.Key).WaitAsync(cancellationToken)
            ?? throw new PostedCodeException($"Posted code {hash} has no assembly stored: it was removed, or its post did not finish (post it again).");
        if (PostedCodeRules.HashOf(stored.Assembly) != hash)
            throw new PostedCodeException($"The assembly stored under {hash} has another hash: refusing to load it.");
        return stored;
    }

    /// <summary>A weak reference to the load context of a loaded version (null when not loaded), to watch it unload.</summary>
    internal WeakReference? WatchLoadContext(string hash) =>
        _loaded.TryGetValue(hash, out var entry) && entry.IsValueCreated && entry.Value.IsCompletedSuccessfully ? entry.Value.Result.WatchContext() : null;

    private IPostedCodeGrain Version(string hash) => grains.GetGrain<IPostedCodeGrain>(hash);

    private void RefuseUnavailable(string hash, PostedCodeInfo? info)
    {
        if (info is null)
        {
            RetireLoaded(hash, "unknown");
            throw new PostedCodeException($"No code is posted under hash {hash}: post the assembly first (PostedCode.PostAsync), or pick a hash from PostedCode.ListAsync.");
        }

        if (info.IsRemoved)
        {
            RetireLoaded(hash, "removed");
            throw new PostedCodeException($"Posted code {hash} ('{info.Description}') was removed at {info.RemovedAt:u}: new jobs for it are refused. Post the assembly again to run it.");
        }
    }

    /// <summary>The loaded version counted in for one call, loading it first when this silo has not.</summary>
    private async Task<LoadedCode> EnterAsync(string hash, CancellationToken cancellationToken)
    {
        while (true)
        {
            var entry = _loaded.GetOrAdd(hash, h => new Lazy<Task<LoadedCode>>(() => FetchAndLoadAsync(h)));
            LoadedCode code;
            try
            {
                // One load serves every waiting call: a caller that gives up does not cancel it for the others.
                code = await entry.Value.WaitAsync(cancellationToken);
            }
            catch (Exception) when (!cancellationToken.IsCancellationRequested)
            {
                _loaded.TryRemove(new KeyValuePair<string, Lazy<Task<LoadedCode>>>(hash, entry));
                throw;
            }

            if (code.TryEnter(timeProvider.GetUtcNow())) return code;
            _loaded.TryRemove(new KeyValuePair<string, Lazy<Task<LoadedCode>>>(hash, entry)); // retired meanwhile: load afresh
        }
    }

    private async Task<LoadedCode> FetchAndLoadAsync(string hash)
    {
        var stored = await FetchAsync(hash);
        var code = LoadedCode.Load(hash, stored, timeProvider.GetUtcNow());
        LogLoaded(hash, stored.Assembly.Length, stored.Symbols?.Length ?? 0);
        return code;
    }

    private void RetireLoaded(string hash, string why)
    {
        if (_loaded.TryGetValue(hash, out var entry)) Retire(hash, entry, why);
    }

    private void Retire(string hash, Lazy<Task<LoadedCode>> entry, string why, DateTimeOffset? idleSince = null)
    {
        if (!entry.IsValueCreated || !entry.Value.IsCompletedSuccessfully) return;
        var code = entry.Value.Result;
        if (!code.Retire(idleSince)) return;
        _loaded.TryRemove(new KeyValuePair<string, Lazy<Task<LoadedCode>>>(hash, entry));
        LogUnloading(hash, why, code.Running);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Loaded posted code {Hash} ({Size} bytes, symbols {SymbolsSize} bytes)")]
    private partial void LogLoaded(string hash, int size, int symbolsSize);

    [LoggerMessage(Level = LogLevel.Information, Message = "Unloading posted code {Hash} ({Reason}) once its {Running} running calls end")]
    private partial void LogUnloading(string hash, string reason, int running);
}
