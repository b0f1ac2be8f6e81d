using System.Collections.Concurrent;
using Orleans.Jobs.Grains.Interfaces;

namespace Orleans.Jobs.Client.Queues;

/// <summary>
/// MarbleRun's high-level queue API: send, expedite, wait and finish. Like MarbleRun, a Marble remembers the job
/// it is working on, so <see cref="FinishAsync"/> needs no arguments; jobs are monitored unless
/// <see cref="Monitored"/> is turned off.
/// </summary>
/// <example>
/// <code>
/// var marble = new Marble(client);
/// while (await marble.WaitAsync("images") is { } job)
/// {
///     Process(job.Data);
///     await marble.FinishAsync();
/// }
/// </code>
/// </example>
public sealed class Marble(IGrainFactory grains, MarbleOptions? options = null) : IAsyncDisposable
{
    private readonly MarbleOptions _options = options ?? new MarbleOptions();

    /// <summary>Per queue, the id of a claim that failed without an answer: the next wait there resumes it.</summary>
    private readonly ConcurrentDictionary<string, Guid> _failedClaims = new(StringComparer.Ordinal);

    /// <summary>Whether claims are monitored (redone if this process dies or hangs). Default true.</summary>
    public bool Monitored
    {
        get => _options.Monitored;
        set => _options.Monitored = value;
    }

    /// <summary>The job taken by the last <see cref="WaitAsync"/> and not yet finished, failed or released.</summary>
    public MarbleJob? Current { get; private set; }

    /// <summary>Adds data at the back of a queue.</summary>
    public Task<long> SendAsync(string queue, string data, SendOptions? options = null) => Queue(queue).SendAsync(data, options);

    /// <summary>Adds data at the front of a queue, for immediate processing.</summary>
    public Task<long> ExpediteAsync(string queue, string data, SendOptions? options = null) => Queue(queue).ExpediteAsync(data, options);

    /// <summary>
    /// Sends data to the same queue on another tier (MarbleRun's elevate): to <paramref name="toNode"/>, or to the
    /// routing table's hub when it is null, if the route from this Marble's node is allowed.
    /// </summary>
    /// <exception cref="ArgumentException">No such route, or no hub; nothing was sent.</exception>
    public Task<ElevatedJob> ElevateAsync(string queue, string data, string? toNode = null, SendOptions? options = null) =>
        grains.GetGrain<IRoutingTableGrain>(RoutingTable.DefaultKey).ElevateAsync(_options.Node, queue, data, toNode, options);

    /// <summary>Adds many items at the back of a queue at once.</summary>
    public Task<IReadOnlyList<long>> SendBatchAsync(string queue, IEnumerable<string> data, SendOptions? options = null) =>
        Queue(queue).SendBatchAsync(data.Select(d => new JobMessage(d, options)).ToList());

    /// <summary>
    /// Waits for the next job of a queue and makes it <see cref="Current"/>; null when none arrived within the
    /// timeout. As in MarbleRun, a previous current job that was not finished counts as failed: it is failed now
    /// (see <see cref="MarbleJob.DisposeAsync"/>).
    /// </summary>
    public async Task<MarbleJob?> WaitAsync(string queue, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        var jobs = await WaitBatchAsync(queue, 1, timeout, cancellationToken);
        return Current = jobs.Count == 0 ? null : jobs[0];
    }

    /// <summary>
    /// Waits for up to <paramref name="maxJobs"/> jobs of a queue; the caller settles each one. A wait that throws
    /// (the cluster or the store gave no answer) may have claimed jobs all the same: the next wait of this Marble on
    /// the same queue resumes that claim and returns them, rather than leaving them leased until their leases run out.
    /// </summary>
    public async Task<IReadOnlyList<MarbleJob>> WaitBatchAsync(string queue, int maxJobs, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        if (Current is { } unfinished)
        {
            Current = null;
            await unfinished.DisposeAsync();
        }

        var grain = Queue(queue);
        var resume = _failedClaims.TryRemove(queue, out var claimId);
        if (!resume) claimId = UnguessableIds.Next();
        IReadOnlyList<ClaimedJob> claims;
        try
        {
            claims = await grain.WaitAsync(timeout ?? _options.WaitTimeout, ClaimOptions(maxJobs, claimId, resume), cancellationToken);
        }
        catch (Exception e) when (e is not ArgumentException)
        {
            _failedClaims[queue] = claimId;
            throw;
        }

        return claims.Select(c => new MarbleJob(grain, c, _options.TimeProvider)).ToList();
    }

    /// <summary>Finishes <see cref="Current"/> (MarbleRun's finish).</summary>
    /// <exception cref="InvalidOperationException">There is no current job.</exception>
    public async Task FinishAsync(string? result = null)
    {
        var job = TakeCurrent("finish");
        await job.FinishAsync(result);
    }

    /// <summary>Reports that <see cref="Current"/> failed; returns whether it will retry or was dead-lettered.</summary>
    public async Task<FailResult> FailAsync(string error)
    {
        var job = TakeCurrent("fail");
        return await job.FailAsync(error);
    }

    /// <summary>Gives the current job, if any, back to its queue without counting the attempt.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Current is not { } current) return;
        Current = null;
        try
        {
            await current.ReleaseAsync();
        }
        catch (InvalidOperationException)
        {
            // Already settled through the job itself, or its lease was lost (JobLeaseLostException): nothing to give back.
        }
        catch (KeyNotFoundException)
        {
        }
    }

    private MarbleJob TakeCurrent(string action)
    {
        var job = Current ?? throw new InvalidOperationException($"There is no current job to {action}: call WaitAsync first.");
        Current = null;
        return job;
    }

    private ClaimOptions ClaimOptions(int maxJobs, Guid claimId, bool resume) => new()
    {
        MaxJobs = maxJobs,
        ClaimId = claimId,
        Resume = resume,
        Monitored = _options.Monitored,
        LeaseDuration = _options.LeaseDuration,
        Owner = _options.Owner,
        Node = _options.Node,
    };

    private IQueueGrain Queue(string queue) => grains.GetGrain<IQueueGrain>(queue);
}
