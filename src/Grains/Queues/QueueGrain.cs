using Microsoft.Extensions.Options;
using Orleans.Jobs.Grains.Interfaces;
using Orleans.Jobs.Runtime;
using Orleans.Jobs.Runtime.Jobs;
using Orleans.Jobs.Runtime.Reminders;

namespace Orleans.Jobs.Grains.Queues;

/// <summary>The persistent state of a queue grain.</summary>
public sealed class QueueState
{
    /// <summary>Settings set with <see cref="IQueueGrain.ConfigureAsync"/>; null means the silo defaults.</summary>
    public QueueSettings? Settings { get; set; }
}

/// <summary>
/// A queue: validates input, turns it into job rows in the store, and runs the monitor — a reminder that returns
/// monitored jobs whose workers died or hung, and prunes finished jobs past their retention.
/// </summary>
public sealed class QueueGrain(IOptions<QueueOptions> options) : Grain<QueueState>, IQueueGrain, IRemindable
{
    /// <summary>The name of the monitor reminder, registered on the queue's first send or claim.</summary>
    public const string LeaseMonitorReminder = "lease-monitor";

    private const int MaxErrorLength = 8 * 1024;
    private const int MaxOwnerLength = 128;

    private readonly QueueOptions _options = options.Value;
    private QueueSettings _settings = options.Value.Defaults;
    private DateTimeOffset _settingsReadAt = DateTimeOffset.MinValue;
    private TimeSpan? _monitorPeriod;

    private QueueName _name;

    private string Queue => GrainId.Key;
    private IClusterStore Store => Context.Store;
    private DateTimeOffset Now => TimeProvider.GetUtcNow();

    /// <inheritdoc />
    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _name = QueueName.Parse(Queue);
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task<long> SendAsync(string payload, SendOptions? options = null) => EnqueueOneAsync(new JobMessage(payload, options, Expedite: false));

    /// <inheritdoc />
    public Task<long> ExpediteAsync(string payload, SendOptions? options = null) => EnqueueOneAsync(new JobMessage(payload, options, Expedite: true));

    /// <inheritdoc />
    public async Task<IReadOnlyList<long>> SendBatchAsync(IReadOnlyList<JobMessage> jobs)
    {
        ArgumentNullException.ThrowIfNull(jobs);
        if (jobs.Count is 0 or > QueueLimits.MaxBatchSize)
            throw new ArgumentOutOfRangeException(nameof(jobs), jobs.Count, $"A batch must hold 1 to {QueueLimits.MaxBatchSize} jobs.");
        var settings = await SettingsAsync();
        var rows = new NewJob[jobs.Count];
        for (var i = 0; i < jobs.Count; i++)
            rows[i] = ToNewJob(jobs[i] ?? throw new ArgumentNullException($"jobs[{i}]"), settings, $"jobs[{i}]");
        var ids = await Store.EnqueueAsync(Queue, rows, Now, CancellationToken.None);
        await EnsureMonitorAsync(settings);
        return ids;
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<ClaimedJob>> ClaimAsync(ClaimOptions options)
    {
        var settings = await SettingsAsync();
        return await ClaimAsync(ToClaim(options, settings), settings);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<ClaimedJob>> WaitAsync(TimeSpan timeout, ClaimOptions options, CancellationToken cancellationToken = default)
    {
        if (timeout < TimeSpan.Zero || timeout > QueueLimits.MaxWait)
            throw new ArgumentOutOfRangeException(nameof(timeout), timeout, $"A wait's timeout must be between 0 and {QueueLimits.MaxWait}.");
        var settings = await SettingsAsync();
        var claim = ToClaim(options, settings);
        var deadline = Now + timeout;

        // Subscribe before the first claim: a job sent between an empty claim and the wait still wakes us.
        using var subscription = Store.SubscribeAvailability(Queue);
        while (true)
        {
            var jobs = await ClaimAsync(claim, settings);
            if (jobs.Count > 0)
            {
                if (!cancellationToken.IsCancellationRequested) return jobs;
                // The waiter left while we claimed (a client that disconnected): give the jobs back, uncounted.
                var releases = jobs.Select(job => Store.ReleaseAsync(Queue, job.JobId, job.LeaseToken, Now, CancellationToken.None)).ToList();
                await Task.WhenAll(releases); // every release is tried even if one fails
                cancellationToken.ThrowIfCancellationRequested();
            }

            var now = Now;
            var remaining = deadline - now;
            if (remaining <= TimeSpan.Zero) return jobs;

            // Delayed jobs send no signal when they become visible: wake up when the next one does.
            if (await Store.GetNextVisibleAtAsync(Queue, cancellationToken) is { } nextVisible && nextVisible - now < remaining)
                remaining = TimeSpan.FromTicks(Math.Max((nextVisible - now).Ticks, TimeSpan.FromMilliseconds(10).Ticks));
            await subscription.WaitAsync(remaining, TimeProvider, cancellationToken);
        }
    }

    /// <inheritdoc />
    public async Task<JobUpdateOutcome> RenewLeaseAsync(long jobId, Guid leaseToken, TimeSpan? leaseDuration = null)
    {
        ValidateHold(jobId, leaseToken);
        var lease = leaseDuration ?? (await SettingsAsync()).LeaseDuration;
        ValidateLease(lease);
        return await Store.RenewLeaseAsync(Queue, jobId, leaseToken, Now + lease, CancellationToken.None);
    }

    /// <inheritdoc />
    public Task<JobUpdateOutcome> FinishAsync(long jobId, Guid leaseToken, string? result = null)
    {
        ValidateHold(jobId, leaseToken);
        if (result is not null) QueueLimits.ValidatePayload(result, nameof(result));
        return Store.CompleteAsync(Queue, jobId, leaseToken, result, Now, CancellationToken.None);
    }

    /// <inheritdoc />
    public async Task<FailResult> FailAsync(long jobId, Guid leaseToken, string error)
    {
        ValidateHold(jobId, leaseToken);
        if (string.IsNullOrEmpty(error)) error = "(no error message)";
        if (error.Length > MaxErrorLength) error = error[..MaxErrorLength] + " …(truncated)";
        error = QueueLimits.SanitizeText(error); // after the cut, which may split a surrogate pair
        var settings = await SettingsAsync();
        return await Store.FailAsync(Queue, jobId, leaseToken, error, new RetryBackoff(settings.RetryDelay, settings.MaxRetryDelay), Now, CancellationToken.None);
    }

    /// <inheritdoc />
    public Task<JobUpdateOutcome> ReleaseAsync(long jobId, Guid leaseToken)
    {
        ValidateHold(jobId, leaseToken);
        return Store.ReleaseAsync(Queue, jobId, leaseToken, Now, CancellationToken.None);
    }

    /// <inheritdoc />
    public Task<JobInfo?> GetJobAsync(long jobId)
    {
        ValidateJobId(jobId);
        return Store.GetJobAsync(Queue, jobId, CancellationToken.None);
    }

    /// <inheritdoc />
    public Task<QueueCounts> GetCountsAsync() => Store.GetCountsAsync(Queue, Now, CancellationToken.None);

    /// <inheritdoc />
    public Task<IReadOnlyList<JobInfo>> GetDeadLettersAsync(int limit = 100)
    {
        Require(limit is >= 1 and <= QueueLimits.MaxClaimBatch, nameof(limit), limit, $"limit must be between 1 and {QueueLimits.MaxClaimBatch}.");
        return Store.GetDeadLettersAsync(Queue, limit, CancellationToken.None);
    }

    /// <inheritdoc />
    public Task<JobUpdateOutcome> RequeueDeadLetterAsync(long jobId)
    {
        ValidateJobId(jobId);
        return Store.RequeueDeadLetterAsync(Queue, jobId, Now, CancellationToken.None);
    }

    /// <inheritdoc />
    public Task<int> RecoverExpiredLeasesAsync() => Store.RecoverExpiredLeasesAsync(Queue, Now, CancellationToken.None);

    /// <inheritdoc />
    public async Task ConfigureAsync(QueueSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        settings.Validate();
        State.Settings = settings;
        await WriteStateAsync();
        _settings = settings;
        _settingsReadAt = Now;
        if (_monitorPeriod is { } period && period != settings.MonitorPeriod)
            await EnsureMonitorAsync(settings);
    }

    /// <inheritdoc />
    public Task<QueueSettings> GetSettingsAsync() => Task.FromResult(State.Settings ?? _options.Defaults);

    /// <inheritdoc />
    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        if (reminderName != LeaseMonitorReminder) return;
        await RecoverExpiredLeasesAsync();
        var settings = await SettingsAsync();
        var now = Now;
        await Store.PruneFinishedAsync(Queue, now - settings.CompletedRetention, now - settings.DeadLetterRetention, CancellationToken.None);
    }

    private async Task<long> EnqueueOneAsync(JobMessage message)
    {
        var settings = await SettingsAsync();
        var ids = await Store.EnqueueAsync(Queue, [ToNewJob(message, settings, "payload")], Now, CancellationToken.None);
        await EnsureMonitorAsync(settings);
        return ids[0];
    }

    private async Task<IReadOnlyList<ClaimedJob>> ClaimAsync(JobClaim claim, QueueSettings settings)
    {
        var jobs = await Store.ClaimAsync(Queue, claim, Now, CancellationToken.None);
        if (claim.LeaseDuration is not null && jobs.Count > 0)
            await EnsureMonitorAsync(settings);
        return jobs;
    }

    private async Task EnsureMonitorAsync(QueueSettings settings)
    {
        if (_monitorPeriod == settings.MonitorPeriod) return;
        var existing = await Store.GetReminderAsync(GrainId, LeaseMonitorReminder, CancellationToken.None);
        if (existing?.Period != settings.MonitorPeriod)
            await RegisterOrUpdateReminder(LeaseMonitorReminder, settings.MonitorPeriod, settings.MonitorPeriod);
        _monitorPeriod = settings.MonitorPeriod;
    }

    /// <summary>The queue's settings, reread from the store when the cached copy is older than <see cref="QueueOptions.SettingsCacheDuration"/>.</summary>
    private async Task<QueueSettings> SettingsAsync()
    {
        if (Now - _settingsReadAt < _options.SettingsCacheDuration) return _settings;
        var stored = await ReadStoredStateAsync();
        _settings = stored.Settings ?? _options.Defaults;
        _settingsReadAt = Now;
        return _settings;
    }

    private NewJob ToNewJob(JobMessage message, QueueSettings settings, string field)
    {
        QueueLimits.ValidatePayload(message.Payload, field);
        var options = message.Options ?? new SendOptions();
        Require(options.Priority is >= QueueLimits.MinPriority and <= QueueLimits.MaxPriority, $"{field}.Priority", options.Priority,
            $"Priority must be between {QueueLimits.MinPriority} and {QueueLimits.MaxPriority}.");
        var delay = options.Delay ?? TimeSpan.Zero;
        Require(delay >= TimeSpan.Zero && delay <= QueueLimits.MaxDelay, $"{field}.Delay", delay, $"Delay must be between 0 and {QueueLimits.MaxDelay}.");
        var maxAttempts = options.MaxAttempts ?? settings.MaxAttempts;
        Require(maxAttempts is >= 1 and <= QueueLimits.MaxMaxAttempts, $"{field}.MaxAttempts", maxAttempts, $"MaxAttempts must be between 1 and {QueueLimits.MaxMaxAttempts}.");
        var now = Now;
        return new NewJob(message.Payload, options.Priority, delay > TimeSpan.Zero ? now + delay : null, message.Expedite, maxAttempts);
    }

    private JobClaim ToClaim(ClaimOptions options, QueueSettings settings)
    {
        ArgumentNullException.ThrowIfNull(options);
        Require(options.MaxJobs is >= 1 and <= QueueLimits.MaxClaimBatch, nameof(options.MaxJobs), options.MaxJobs, $"MaxJobs must be between 1 and {QueueLimits.MaxClaimBatch}.");
        if (string.IsNullOrWhiteSpace(options.Owner) || options.Owner.Length > MaxOwnerLength)
            throw new ArgumentException($"Owner must be 1 to {MaxOwnerLength} characters and not blank.", nameof(options.Owner));
        if (_name.Node is { } node && options.Node != node)
            throw new ArgumentException($"Queue '{Queue}' is local to node '{node}'; a claimer on node '{options.Node ?? "(unnamed)"}' cannot take its jobs. Elevate data to that node instead.", nameof(options.Node));
        TimeSpan? lease = null;
        if (options.Monitored)
        {
            lease = options.LeaseDuration ?? settings.LeaseDuration;
            ValidateLease(lease.Value);
        }

        return new JobClaim(options.MaxJobs, lease, options.Owner, options.Node);
    }

    private static void ValidateHold(long jobId, Guid leaseToken)
    {
        ValidateJobId(jobId);
        if (leaseToken == Guid.Empty)
            throw new ArgumentException("The lease token must be the one returned by the claim; it is empty.", nameof(leaseToken));
    }

    private static void ValidateLease(TimeSpan lease) =>
        Require(lease >= QueueLimits.MinLeaseDuration && lease <= QueueLimits.MaxLeaseDuration, "leaseDuration", lease,
            $"A lease must be between {QueueLimits.MinLeaseDuration} and {QueueLimits.MaxLeaseDuration}.");

    private static void ValidateJobId(long jobId) =>
        Require(jobId > 0, nameof(jobId), jobId, "Job ids are positive numbers.");

    private static void Require(bool ok, string name, object? value, string rule)
    {
        if (!ok) throw new ArgumentOutOfRangeException(name, value, rule);
    }
}
