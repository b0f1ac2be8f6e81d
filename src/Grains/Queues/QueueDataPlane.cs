using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using Orleans.Jobs.Grains.Interfaces;
using Orleans.Jobs.Storage;

namespace Orleans.Jobs.Grains.Queues;

/// <summary>
/// The data plane of every queue on this silo: validates input and runs sends, claims, waits, renewals and
/// completions straight against the job store. <see cref="QueueGrain"/> (the stateless-worker front door for clients)
/// and the silo's workers both use it, so neither a hot queue's grain activation nor a grain call per job stands
/// between workers and the store. Settings come from the queue's control grain, cached for
/// <see cref="QueueOptions.SettingsCacheDuration"/>.
/// </summary>
public sealed class QueueDataPlane(IJobStore store, IGrainFactory grains, IOptions<QueueOptions> options, TimeProvider timeProvider)
{
    private const int MaxErrorLength = 8 * 1024;
    private static readonly SendOptions DefaultSendOptions = new();

    private readonly QueueOptions _options = options.Value;
    private readonly ConcurrentDictionary<string, CachedSettings> _settings = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, EnsuredMonitor> _monitorsEnsured = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> _waiting = new(StringComparer.Ordinal);

    // Concurrent sends of this silo share one store call (one transaction on PostgreSQL), stamped when it is written.
    private readonly SendCoalescer _sends = new(sends => store.EnqueueManyAsync(sends, timeProvider.GetUtcNow(), CancellationToken.None));

    private DateTimeOffset Now => timeProvider.GetUtcNow();

    /// <summary>How many waits on <paramref name="queue"/> this silo is serving now (blocked or claiming).</summary>
    public int WaitsInFlight(string queue) => _waiting.GetValueOrDefault(queue);

    /// <summary>
    /// Adds jobs, all or none; returns their ids in order. The jobs are checked here, then written together with the
    /// other sends this silo has waiting (<see cref="SendCoalescer"/>), so a bad job fails only its own send.
    /// </summary>
    /// <exception cref="ArgumentException">A job or option breaks a rule; nothing was stored.</exception>
    public async Task<IReadOnlyList<long>> SendAsync(string queue, IReadOnlyList<JobMessage> jobs)
    {
        QueueName.Parse(queue);
        ArgumentNullException.ThrowIfNull(jobs);
        if (jobs.Count is 0 or > QueueLimits.MaxBatchSize)
            throw new ArgumentOutOfRangeException(nameof(jobs), jobs.Count, $"A batch must hold 1 to {QueueLimits.MaxBatchSize} jobs.");
        var settings = await GetSettingsAsync(queue);
        var rows = new NewJob[jobs.Count];
        var single = jobs.Count == 1;
        for (var i = 0; i < jobs.Count; i++)
            rows[i] = ToNewJob(jobs[i] ?? throw new ArgumentNullException($"jobs[{i}]"), settings, single ? "payload" : $"jobs[{i}]");
        var ids = await _sends.SendAsync(queue, rows);
        await EnsureMonitorAsync(queue);
        return ids;
    }

    /// <summary>Claims up to <see cref="ClaimOptions.MaxJobs"/> jobs now; may return none.</summary>
    public async Task<IReadOnlyList<ClaimedJob>> ClaimAsync(string queue, ClaimOptions options)
    {
        var claim = await ToClaimAsync(queue, options);
        return await ClaimAsync(queue, claim);
    }

    /// <summary>Claims jobs, blocking (without polling) up to <paramref name="timeout"/> until one is sent or becomes visible.</summary>
    public async Task<IReadOnlyList<ClaimedJob>> WaitAsync(string queue, TimeSpan timeout, ClaimOptions options, CancellationToken cancellationToken)
    {
        if (timeout < TimeSpan.Zero || timeout > QueueLimits.MaxWait)
            throw new ArgumentOutOfRangeException(nameof(timeout), timeout, $"A wait's timeout must be between 0 and {QueueLimits.MaxWait}.");
        var claim = await ToClaimAsync(queue, options);
        var deadline = Now + timeout;
        _waiting.AddOrUpdate(queue, 1, static (_, n) => n + 1);
        try
        {
            return await WaitLoopAsync(queue, claim, deadline, cancellationToken);
        }
        finally
        {
            _waiting.AddOrUpdate(queue, 0, static (_, n) => n - 1);
        }
    }

    private async Task<IReadOnlyList<ClaimedJob>> WaitLoopAsync(string queue, JobClaim claim, DateTimeOffset deadline, CancellationToken cancellationToken)
    {
        // A busy queue answers the first claim: only a wait that finds nothing subscribes to signals.
        IJobAvailabilitySubscription? subscription = null;
        try
        {
            while (true)
            {
                var jobs = await ClaimAsync(queue, claim);
                if (claim.Resume) claim = claim with { Resume = false }; // a resumed claim has its answer now; later rounds claim afresh under the same id
                if (jobs.Count > 0)
                {
                    if (!cancellationToken.IsCancellationRequested) return jobs;
                    // The waiter left while we claimed (a client that disconnected): give the jobs back, uncounted.
                    await Task.WhenAll(jobs.Select(job => store.ReleaseAsync(queue, job.JobId, job.LeaseToken, Now, CancellationToken.None)));
                    cancellationToken.ThrowIfCancellationRequested();
                }

                if (subscription is null)
                {
                    // Subscribe, then claim once more before waiting: a job sent between the empty claim and the
                    // subscription is found by that claim, and any later one signals.
                    subscription = store.SubscribeAvailability(queue);
                    continue;
                }

                var now = Now;
                var remaining = deadline - now;
                if (remaining <= TimeSpan.Zero) return jobs;

                // Delayed jobs send no signal when they become visible: wake up when the next one does.
                if (await store.GetNextVisibleAtAsync(queue, cancellationToken) is { } nextVisible && nextVisible - now < remaining)
                    remaining = TimeSpan.FromTicks(Math.Max((nextVisible - now).Ticks, TimeSpan.FromMilliseconds(10).Ticks));
                await subscription.WaitAsync(remaining, timeProvider, cancellationToken);
            }
        }
        finally
        {
            subscription?.Dispose();
        }
    }

    /// <summary>Extends a monitored lease to now plus <paramref name="leaseDuration"/> (default: the queue's lease).</summary>
    public async Task<JobUpdateOutcome> RenewLeaseAsync(string queue, long jobId, Guid leaseToken, TimeSpan? leaseDuration)
    {
        ValidateHold(jobId, leaseToken);
        var lease = leaseDuration ?? (await GetSettingsAsync(queue)).LeaseDuration;
        ValidateLease(lease);
        return await store.RenewLeaseAsync(queue, jobId, leaseToken, Now + lease, CancellationToken.None);
    }

    /// <summary>Extends many held leases at once (a silo's workers renew all they hold each tick); returns those not extended.</summary>
    public Task<IReadOnlyList<LeaseRenewal>> RenewLeasesAsync(IReadOnlyList<LeaseRenewal> leases) => store.RenewLeasesAsync(leases, CancellationToken.None);

    /// <summary>Completes a held job with an optional result.</summary>
    public Task<JobUpdateOutcome> FinishAsync(string queue, long jobId, Guid leaseToken, string? result)
    {
        ValidateHold(jobId, leaseToken);
        if (result is not null) QueueLimits.ValidatePayload(result, nameof(result));
        return store.CompleteAsync(queue, jobId, leaseToken, result, Now, CancellationToken.None);
    }

    /// <summary>
    /// Completes held jobs of the queue in one write, each as <see cref="FinishAsync"/> would; returns each one's
    /// outcome in order. A silo's workers record their finished jobs this way.
    /// </summary>
    public Task<IReadOnlyList<JobUpdateOutcome>> FinishManyAsync(string queue, IReadOnlyList<JobCompletion> completions)
    {
        foreach (var completion in completions)
        {
            ValidateHold(completion.JobId, completion.LeaseToken);
            if (completion.Result is { } result) QueueLimits.ValidatePayload(result, "result");
        }

        return store.CompleteManyAsync(queue, completions, Now, CancellationToken.None);
    }

    /// <summary>Fails a held job: it retries after the queue's backoff, or is dead-lettered after its last attempt.</summary>
    public async Task<FailResult> FailAsync(string queue, long jobId, Guid leaseToken, string error)
    {
        ValidateHold(jobId, leaseToken);
        if (string.IsNullOrEmpty(error)) error = "(no error message)";
        if (error.Length > MaxErrorLength) error = error[..MaxErrorLength] + " …(truncated)";
        error = QueueLimits.SanitizeText(error); // after the cut, which may split a surrogate pair
        var settings = await GetSettingsAsync(queue);
        return await store.FailAsync(queue, jobId, leaseToken, error, new RetryBackoff(settings.RetryDelay, settings.MaxRetryDelay, settings.RetryPriorityDrop), Now, CancellationToken.None);
    }

    /// <summary>Returns a held job to the queue without counting the attempt.</summary>
    public Task<JobUpdateOutcome> ReleaseAsync(string queue, long jobId, Guid leaseToken)
    {
        ValidateHold(jobId, leaseToken);
        return store.ReleaseAsync(queue, jobId, leaseToken, Now, CancellationToken.None);
    }

    /// <summary>Returns a job of the queue, or null.</summary>
    public Task<JobInfo?> GetJobAsync(string queue, long jobId)
    {
        ValidateJobId(jobId);
        return store.GetJobAsync(queue, jobId, CancellationToken.None);
    }

    /// <summary>Counts the queue's jobs by state, as of now.</summary>
    public Task<QueueCounts> GetCountsAsync(string queue) => store.GetCountsAsync(queue, Now, CancellationToken.None);

    /// <summary>Lists the queue's dead letters, oldest first.</summary>
    public Task<IReadOnlyList<JobInfo>> GetDeadLettersAsync(string queue, int limit)
    {
        Require(limit is >= 1 and <= QueueLimits.MaxDeadLetterListLimit, nameof(limit), limit, $"limit must be between 1 and {QueueLimits.MaxDeadLetterListLimit}.");
        return store.GetDeadLettersAsync(queue, limit, CancellationToken.None);
    }

    /// <summary>A page of the queue's jobs in <paramref name="state"/>, by id after <paramref name="afterId"/>.</summary>
    public Task<IReadOnlyList<JobInfo>> ListJobsAsync(string queue, JobListState state, long afterId, int limit)
    {
        Require(Enum.IsDefined(state), nameof(state), state, $"state must be one of {string.Join(", ", Enum.GetNames<JobListState>())}.");
        Require(afterId >= 0, nameof(afterId), afterId, "afterId must be 0 (the first page) or the last job id of the page before.");
        Require(limit is >= 1 and <= QueueLimits.MaxListPage, nameof(limit), limit, $"limit must be between 1 and {QueueLimits.MaxListPage}.");
        return store.ListJobsAsync(queue, state, afterId, limit, Now, CancellationToken.None);
    }

    /// <summary>Expires the jobs <paramref name="owner"/> claimed unmonitored and still runs: each is retried, or dead-lettered on its last attempt.</summary>
    public Task<int> ExpireUnmonitoredJobsAsync(string queue, string owner)
    {
        QueueLimits.ValidateOwner(owner, nameof(owner));
        return store.ExpireUnmonitoredJobsAsync(queue, owner, Now, CancellationToken.None);
    }

    /// <summary>Makes a dead-lettered job available again with fresh attempts; <see cref="JobUpdateOutcome.NotDeadLettered"/> for a job in another state.</summary>
    public async Task<JobUpdateOutcome> RequeueDeadLetterAsync(string queue, long jobId)
    {
        ValidateJobId(jobId);
        var outcome = await store.RequeueDeadLetterAsync(queue, jobId, Now, CancellationToken.None);
        // The store's contract says LeaseLost for "exists, wrong state"; for a requeue that state is "not dead-lettered".
        return outcome == JobUpdateOutcome.LeaseLost ? JobUpdateOutcome.NotDeadLettered : outcome;
    }

    /// <summary>Deletes the queue's dead letters: all of them, or those among <paramref name="jobIds"/>. Returns how many.</summary>
    public Task<int> PurgeDeadLettersAsync(string queue, IReadOnlyList<long>? jobIds) =>
        store.PurgeDeadLettersAsync(queue, jobIds, CancellationToken.None); // the store checks jobIds: every provider refuses the same input

    /// <summary>The queue's settings, cached for <see cref="QueueOptions.SettingsCacheDuration"/>.</summary>
    public async Task<QueueSettings> GetSettingsAsync(string queue)
    {
        var now = Now;
        if (_settings.TryGetValue(queue, out var cached) && now - cached.ReadAt < _options.SettingsCacheDuration) return cached.Settings;
        var settings = await grains.GetGrain<IQueueControlGrain>(queue).GetSettingsAsync();
        _settings[queue] = new CachedSettings(settings, now);
        return settings;
    }

    /// <summary>Forgets the cached settings of a queue (after a change made on this silo).</summary>
    public void ForgetSettings(string queue) => _settings.TryRemove(queue, out _);

    /// <summary>Validates a job id.</summary>
    public static void ValidateJobId(long jobId) => Require(jobId > 0, nameof(jobId), jobId, "Job ids are positive numbers.");

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming <paramref name="name"/> and the rule unless <paramref name="ok"/>.</summary>
    /// <remarks>Generic so a check that passes boxes nothing: claims and completions make several per job.</remarks>
    public static void Require<T>(bool ok, string name, T value, string rule)
    {
        if (!ok) throw new ArgumentOutOfRangeException(name, value, rule);
    }

    private async Task<IReadOnlyList<ClaimedJob>> ClaimAsync(string queue, JobClaim claim)
    {
        // Every monitored claim, even one that finds nothing, keeps the monitor alive: jobs held by a worker that
        // died may be all the queue has left, and they come back only if someone watches their leases.
        if (claim.LeaseDuration is not null) await EnsureMonitorAsync(queue);
        return await store.ClaimAsync(queue, claim, Now, CancellationToken.None);
    }

    /// <summary>
    /// Makes sure the queue's monitor runs, at most once per <see cref="QueueOptions.SettingsCacheDuration"/> per silo:
    /// the control grain's reminder revives it after its silo dies, and this revives it within seconds whenever any
    /// silo works the queue (even where reminders were lost with an in-memory reminder table). A failed attempt is
    /// retried by the next send or claim.
    /// </summary>
    private Task EnsureMonitorAsync(string queue)
    {
        var now = Now;
        if (_monitorsEnsured.TryGetValue(queue, out var ensured) && now - ensured.At < _options.SettingsCacheDuration && !ensured.Call.IsFaulted && !ensured.Call.IsCanceled)
            return ensured.Call.IsCompletedSuccessfully ? Task.CompletedTask : ensured.Call;
        var call = grains.GetGrain<IQueueControlGrain>(queue).EnsureMonitorAsync();
        _monitorsEnsured[queue] = new EnsuredMonitor(call, now);
        return call;
    }

    private sealed record EnsuredMonitor(Task Call, DateTimeOffset At);

    // Runs once per job of a batch of up to 10,000: the names and messages of a refusal are made only when it refuses.
    private NewJob ToNewJob(JobMessage message, QueueSettings settings, string field)
    {
        QueueLimits.ValidatePayload(message.Payload, field);
        var options = message.Options ?? DefaultSendOptions;
        if (options.Priority is < QueueLimits.MinPriority or > QueueLimits.MaxPriority)
            throw new ArgumentOutOfRangeException($"{field}.Priority", options.Priority, $"Priority must be between {QueueLimits.MinPriority} and {QueueLimits.MaxPriority}.");
        var delay = options.Delay ?? TimeSpan.Zero;
        if (delay < TimeSpan.Zero || delay > QueueLimits.MaxDelay)
            throw new ArgumentOutOfRangeException($"{field}.Delay", delay, $"Delay must be between 0 and {QueueLimits.MaxDelay}.");
        var maxAttempts = options.MaxAttempts ?? settings.MaxAttempts;
        if (maxAttempts is < 1 or > QueueLimits.MaxMaxAttempts)
            throw new ArgumentOutOfRangeException($"{field}.MaxAttempts", maxAttempts, $"MaxAttempts must be between 1 and {QueueLimits.MaxMaxAttempts}.");
        return new NewJob(message.Payload, options.Priority, delay > TimeSpan.Zero ? Now + delay : null, message.Expedite, maxAttempts);
    }


    private async Task<JobClaim> ToClaimAsync(string queue, ClaimOptions options)
    {
        var name = QueueName.Parse(queue);
        ArgumentNullException.ThrowIfNull(options);
        Require(options.MaxJobs is >= 1 and <= QueueLimits.MaxClaimBatch, nameof(options.MaxJobs), options.MaxJobs, MaxJobsRule);
        QueueLimits.ValidateOwner(options.Owner, nameof(options.Owner));
        // A node is stored with the claim even on a cluster-wide queue, so it follows the node rule everywhere.
        if (options.Node is not null) QueueLimits.ValidateNodeName(options.Node, nameof(options.Node));
        if (name.Node is { } node && options.Node != node)
            throw new ArgumentException($"Queue '{queue}' is local to node '{node}'; a claimer on node '{options.Node ?? "(unnamed)"}' cannot take its jobs. Elevate data to that node instead.", nameof(options.Node));
        TimeSpan? lease = null;
        if (options.Monitored)
        {
            lease = options.LeaseDuration ?? (await GetSettingsAsync(queue)).LeaseDuration;
            ValidateLease(lease.Value);
        }

        if (options.ClaimId == Guid.Empty)
            throw new ArgumentException("ClaimId must not be the empty GUID: leave it null, or choose a fresh id per claim.", nameof(options.ClaimId));
        if (options.Resume && options.ClaimId is null)
            throw new ArgumentException("ClaimId is required when Resume is true: name the claim that failed.", nameof(options.ClaimId));
        var claim = new JobClaim(options.MaxJobs, lease, options.Owner, options.Node) { Resume = options.Resume };
        return options.ClaimId is { } id ? claim with { ClaimId = id } : claim;
    }

    private static void ValidateHold(long jobId, Guid leaseToken)
    {
        ValidateJobId(jobId);
        if (leaseToken == Guid.Empty)
            throw new ArgumentException("The lease token must be the one returned by the claim; it is empty.", nameof(leaseToken));
    }

    private static void ValidateLease(TimeSpan lease) =>
        Require(lease >= QueueLimits.MinLeaseDuration && lease <= QueueLimits.MaxLeaseDuration, "leaseDuration", lease, LeaseRule);

    // Rules of checks made per claim, written once rather than formatted on every call.
    private static readonly string MaxJobsRule = $"MaxJobs must be between 1 and {QueueLimits.MaxClaimBatch}.";
    private static readonly string LeaseRule = $"A lease must be between {QueueLimits.MinLeaseDuration} and {QueueLimits.MaxLeaseDuration}.";

    private sealed record CachedSettings(QueueSettings Settings, DateTimeOffset ReadAt);
}
