using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Orleans.Jobs.Grains.Interfaces;
using Orleans.Jobs.Grains.Interfaces.Pipelines;

namespace Orleans.Jobs.Client.Pipelines;

/// <summary>
/// Starts pipelines and follows them (pypelinin's <c>PipelineManager</c>). As in pypelinin:
/// <code>
/// var manager = new PipelineManager(client);
/// await manager.StartAsync(pipeline);
/// while (!pipeline.Finished) await manager.UpdateAsync();
/// </code>
/// or simply <c>await manager.WaitAsync(pipeline)</c>. <see cref="WatchFinishedAsync"/> streams every finished
/// pipeline of the cluster (pypelinin's broadcast channel) from a sequence number, so a client that reconnects
/// resumes where it stopped without missing one. Safe to use from many threads; many managers may run at once.
/// </summary>
public sealed class PipelineManager(IGrainFactory grains)
{
    /// <summary>How long <see cref="UpdateAsync"/> waits for news by default.</summary>
    public static readonly TimeSpan DefaultUpdateWait = TimeSpan.FromSeconds(1);

    private const int PageSize = 1_000;
    private static readonly TimeSpan WaitSlice = TimeSpan.FromSeconds(20);

    // Long waits carry a long Orleans response timeout; if the gateway silo dies mid-wait, a reply may never come.
    // Give up this long after the wait should have ended (TimeoutException) so the caller can retry on another gateway.
    private static readonly TimeSpan LostReplyMargin = TimeSpan.FromSeconds(15);
    private readonly ConcurrentDictionary<string, Pipeline> _inFlight = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _updating = new(1, 1);
    private long _cursor = -1;

    /// <summary>The pipelines this manager started that it has not yet seen finish.</summary>
    public int InFlight => _inFlight.Count;

    /// <summary>Sends a pipeline to the cluster to run.</summary>
    /// <exception cref="ArgumentException">The cluster refused it (a worker no silo registered, the id taken); nothing was stored.</exception>
    public async Task<PipelineStatus> StartAsync(Pipeline pipeline, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(pipeline);
        // Read the log's head before the first start, so no pipeline of ours can finish before the cursor.
        if (Interlocked.Read(ref _cursor) < 0)
        {
            var head = (await Log.ReadFinishedAsync(long.MaxValue - 1, 1, TimeSpan.Zero).WaitAsync(cancellationToken)).Head;
            Interlocked.CompareExchange(ref _cursor, head, -1);
        }

        _inFlight[pipeline.Id] = pipeline;
        PipelineStatus status;
        try
        {
            status = await Grain(pipeline.Id).StartAsync(pipeline.ToDefinition()).WaitAsync(cancellationToken);
        }
        catch
        {
            _inFlight.TryRemove(pipeline.Id, out _);
            throw;
        }

        if (status.IsFinished) MarkFinished(pipeline, status.State);
        return status;
    }

    /// <summary>
    /// Learns which of this manager's pipelines finished since the last update and sets their
    /// <see cref="Pipeline.Finished"/>; waits up to <paramref name="wait"/> (default one second) when nothing is new.
    /// </summary>
    /// <exception cref="TimeoutException">No reply came (the gateway silo died during the wait); call again.</exception>
    public async Task UpdateAsync(TimeSpan? wait = null, CancellationToken cancellationToken = default)
    {
        if (_inFlight.IsEmpty || Interlocked.Read(ref _cursor) < 0) return;
        await _updating.WaitAsync(cancellationToken);
        try
        {
            var waitFor = wait ?? DefaultUpdateWait;
            while (!_inFlight.IsEmpty)
            {
                var page = await Log.ReadFinishedAsync(_cursor, PageSize, waitFor).WaitAsync(waitFor + LostReplyMargin, cancellationToken);
                if (page.Oldest > _cursor + 1 && page.Head >= page.Oldest)
                    await RefreshInFlightAsync(cancellationToken); // entries we never read were trimmed: ask each pipeline instead
                foreach (var finished in page.Entries)
                {
                    if (_inFlight.TryGetValue(finished.PipelineId, out var pipeline)) MarkFinished(pipeline, finished.State);
                    _cursor = finished.Sequence;
                }

                if (page.Entries.Count < PageSize) return;
                waitFor = TimeSpan.Zero;
            }
        }
        finally
        {
            _updating.Release();
        }
    }

    /// <summary>Waits until the pipeline finishes and returns its final status.</summary>
    /// <exception cref="TimeoutException">It did not finish within <paramref name="timeout"/> (when given).</exception>
    public async Task<PipelineStatus> WaitAsync(Pipeline pipeline, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        var status = await WaitAsync(pipeline.Id, timeout, cancellationToken);
        MarkFinished(pipeline, status.State);
        return status;
    }

    /// <summary>Waits until the pipeline with <paramref name="pipelineId"/> finishes and returns its final status.</summary>
    /// <exception cref="TimeoutException">It did not finish within <paramref name="timeout"/> (when given).</exception>
    /// <exception cref="KeyNotFoundException">No pipeline was started under that id.</exception>
    public async Task<PipelineStatus> WaitAsync(string pipelineId, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        PipelineRules.ValidatePipelineId(pipelineId, nameof(pipelineId));
        var deadline = timeout is { } t ? DateTimeOffset.UtcNow + t : DateTimeOffset.MaxValue;
        while (true)
        {
            var left = deadline - DateTimeOffset.UtcNow;
            var slice = left < WaitSlice ? left : WaitSlice;
            if (slice < TimeSpan.Zero) slice = TimeSpan.Zero;
            var status = await Grain(pipelineId).WaitAsync(slice).WaitAsync(slice + LostReplyMargin, cancellationToken);
            if (status.State == PipelineState.Unknown) throw new KeyNotFoundException($"No pipeline was started with id '{pipelineId}'.");
            if (status.IsFinished) return status;
            if (slice == TimeSpan.Zero || DateTimeOffset.UtcNow >= deadline)
                throw new TimeoutException($"Pipeline '{pipelineId}' did not finish within {timeout}; it is {status.State}.");
        }
    }

    /// <summary>The status of a pipeline, every step's included.</summary>
    public Task<PipelineStatus> GetStatusAsync(string pipelineId)
    {
        PipelineRules.ValidatePipelineId(pipelineId, nameof(pipelineId));
        return Grain(pipelineId).GetStatusAsync();
    }

    /// <summary>Cancels a pipeline: steps not started never run; running ones finish or are abandoned.</summary>
    public Task<PipelineStatus> CancelAsync(string pipelineId)
    {
        PipelineRules.ValidatePipelineId(pipelineId, nameof(pipelineId));
        return Grain(pipelineId).CancelAsync();
    }

    /// <summary>The sequence of the newest entry in the finished log (0 when empty): watch from here to see only what finishes next.</summary>
    public async Task<long> GetFinishedHeadAsync() => (await Log.ReadFinishedAsync(long.MaxValue - 1, 1, TimeSpan.Zero)).Head;

    /// <summary>
    /// Every pipeline of the cluster that finishes, in order, after sequence <paramref name="after"/> (0: from the
    /// oldest kept). Remember the last <see cref="FinishedPipeline.Sequence"/> you handled and pass it after a
    /// reconnect: nothing is missed. Runs until cancelled.
    /// </summary>
    /// <exception cref="FinishedLogTrimmedException">Entries after <paramref name="after"/> were already deleted after their retention.</exception>
    public async IAsyncEnumerable<FinishedPipeline> WatchFinishedAsync(long after = 0, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        QueueLimits.CheckRange(after, 0, long.MaxValue - 1, nameof(after));
        var strict = after > 0;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var page = await Log.ReadFinishedAsync(after, PageSize, WaitSlice).WaitAsync(WaitSlice + LostReplyMargin, cancellationToken);
            if (strict && page.Oldest > after + 1 && page.Head >= page.Oldest)
                throw new FinishedLogTrimmedException(after, page.Oldest);
            strict = true;
            foreach (var finished in page.Entries)
            {
                yield return finished;
                after = finished.Sequence;
            }
        }
    }

    private async Task RefreshInFlightAsync(CancellationToken cancellationToken)
    {
        foreach (var pipeline in _inFlight.Values)
        {
            var status = await Grain(pipeline.Id).GetStatusAsync().WaitAsync(cancellationToken);
            if (status.IsFinished) MarkFinished(pipeline, status.State);
        }
    }

    private void MarkFinished(Pipeline pipeline, PipelineState state)
    {
        pipeline.FinalState = state;
        pipeline.Finished = true;
        _inFlight.TryRemove(pipeline.Id, out _);
    }

    private IPipelineGrain Grain(string id) => grains.GetGrain<IPipelineGrain>(id);

    private IPipelineLogGrain Log => grains.GetGrain<IPipelineLogGrain>(0);
}

/// <summary>A reader of the finished-pipelines log came back after entries it had not read were deleted after their retention.</summary>
public sealed class FinishedLogTrimmedException(long after, long oldest)
    : Exception($"The finished-pipelines log no longer holds the entries after {after}: the oldest kept is {oldest} (retention: Pipelines:FinishedLogRetention). Resume from {oldest - 1} to go on, knowing {oldest - after - 1} entries were missed.")
{
    /// <summary>The sequence the reader asked to resume after.</summary>
    public long After { get; } = after;

    /// <summary>The oldest sequence still kept.</summary>
    public long Oldest { get; } = oldest;
}
