using System.Collections.Concurrent;
using Orleans.Jobs.Grains.Interfaces;

namespace Orleans.Jobs.Storage.InMemory;

public sealed partial class InMemoryJobStore
{
    // Answers are few: one finished task per outcome, so an update allocates no task.
    private static readonly Task<JobUpdateOutcome>[] Answers = [.. Enum.GetValues<JobUpdateOutcome>().Select(Task.FromResult)];

    private readonly ConcurrentDictionary<string, QueueRows> _queues = new(StringComparer.Ordinal);
    private readonly AvailabilityBroadcaster _availability = new();
    private long _lastJobId;

    /// <inheritdoc />
    public Task<IReadOnlyList<long>> EnqueueAsync(string queue, IReadOnlyList<NewJob> jobs, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var rows = Rows(queue);
        var ids = new long[jobs.Count];
        var added = new JobRow[jobs.Count];
        var firstId = Interlocked.Add(ref _lastJobId, jobs.Count) - jobs.Count + 1;
        for (var i = 0; i < jobs.Count; i++)
        {
            // Rows are built outside the lock: only adding them needs it.
            var job = jobs[i];
            var visibleAt = job.VisibleAt is { } at && at > now ? at : now;
            added[i] = new JobRow
            {
                Id = ids[i] = firstId + i,
                Queue = queue,
                Payload = job.Payload,
                Priority = job.Priority,
                Position = JobRules.Position(job.Front, visibleAt),
                EnqueuedAt = now,
                VisibleAt = visibleAt,
                MaxAttempts = job.MaxAttempts,
            };
        }

        lock (rows)
        {
            foreach (var row in added) rows.Add(row, now);
        }

        _availability.Signal(queue);
        return Task.FromResult<IReadOnlyList<long>>(ids);
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<ClaimedJob>> ClaimAsync(string queue, JobClaim claim, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var rows = Rows(queue);
        List<ClaimedJob> claimed;
        var givenBack = 0;
        lock (rows)
        {
            claimed = new List<ClaimedJob>(Math.Min(claim.MaxJobs, Math.Max(1, rows.AvailableCount)));
            if (claim.Resume) givenBack = rows.ResumeClaim(claim, now, claimed);
            if (claimed.Count == 0) rows.Claim(claim, now, claimed);
        }

        if (givenBack > 0) _availability.Signal(queue);
        return Task.FromResult<IReadOnlyList<ClaimedJob>>(claimed);
    }

    /// <inheritdoc />
    public Task<JobUpdateOutcome> RenewLeaseAsync(string queue, long jobId, Guid leaseToken, DateTimeOffset expiresAt, CancellationToken cancellationToken)
    {
        var rows = Rows(queue);
        lock (rows)
        {
            if (!rows.TryGetHeld(jobId, leaseToken, out var row, out var standing)) return Answers[(int)JobRules.NotHeld(standing)];
            if (row.LeaseExpiresAt is null) return Answers[(int)JobUpdateOutcome.LeaseLost]; // unmonitored claims hold no lease to renew
            row.LeaseExpiresAt = expiresAt;
            return Answers[(int)JobUpdateOutcome.Updated];
        }
    }

    /// <inheritdoc />
    public Task<JobUpdateOutcome> CompleteAsync(string queue, long jobId, Guid leaseToken, string? result, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var rows = Rows(queue);
        lock (rows)
            return Answers[(int)rows.Complete(jobId, leaseToken, result, now)];
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<JobUpdateOutcome>> CompleteManyAsync(string queue, IReadOnlyList<JobCompletion> completions, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var rows = Rows(queue);
        var outcomes = new JobUpdateOutcome[completions.Count];
        lock (rows)
        {
            for (var i = 0; i < outcomes.Length; i++)
            {
                var completion = completions[i];
                outcomes[i] = rows.Complete(completion.JobId, completion.LeaseToken, completion.Result, now);
            }
        }

        return Task.FromResult<IReadOnlyList<JobUpdateOutcome>>(outcomes);
    }

    /// <inheritdoc />
    public Task<FailResult> FailAsync(string queue, long jobId, Guid leaseToken, string error, RetryBackoff backoff, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var rows = Rows(queue);
        FailResult outcome;
        lock (rows)
        {
            if (!rows.TryGetHeld(jobId, leaseToken, out var row, out var standing)) return Task.FromResult(JobRules.FailNotApplied(standing, leaseToken));
            row.LastError = error;
            if (row.Attempt >= row.MaxAttempts)
            {
                rows.Finish(row, JobState.DeadLettered, now, settledBy: leaseToken);
                return Task.FromResult(new FailResult(FailOutcome.DeadLettered));
            }

            rows.Running.Remove(row.Id);
            row.Priority = backoff.RetryPriority(row.Priority);
            row.VisibleAt = now + backoff.DelayAfter(row.Attempt);
            row.Position = JobRules.Position(front: false, row.VisibleAt);
            rows.MakeAvailable(row, now);
            row.LeaseToken = leaseToken; // the failed attempt's: a repeated fail by it gets this answer again
            outcome = new FailResult(FailOutcome.WillRetry, row.VisibleAt);
        }

        _availability.Signal(queue);
        return Task.FromResult(outcome);
    }

    /// <inheritdoc />
    public Task<JobUpdateOutcome> ReleaseAsync(string queue, long jobId, Guid leaseToken, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var rows = Rows(queue);
        lock (rows)
        {
            if (!rows.TryGetHeld(jobId, leaseToken, out var row, out var standing)) return Answers[(int)JobRules.NotHeld(standing)];
            rows.GiveBack(row, now);
        }

        _availability.Signal(queue);
        return Answers[(int)JobUpdateOutcome.Updated];
    }

    /// <inheritdoc />
    public Task<int> RecoverExpiredLeasesAsync(string queue, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var rows = Rows(queue);
        int recovered;
        lock (rows)
            recovered = rows.Recover(r => r.LeaseExpiresAt is { } expiry && expiry <= now, now, JobRules.LeaseExpiredReason);
        if (recovered > 0) _availability.Signal(queue);
        return Task.FromResult(recovered);
    }

    /// <inheritdoc />
    public Task<int> RecoverJobsOfOwnerAsync(string owner, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var total = 0;
        foreach (var rows in _queues.Values)
        {
            int recovered;
            lock (rows)
                recovered = rows.Recover(r => r.LeaseExpiresAt is not null && r.Owner == owner, now, JobRules.OwnerDiedReason(owner));
            if (recovered > 0) _availability.Signal(rows.Queue);
            total += recovered;
        }

        return Task.FromResult(total);
    }

    /// <inheritdoc />
    public Task<int> ExpireUnmonitoredJobsAsync(string queue, string owner, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var rows = Rows(queue);
        int expired;
        lock (rows)
            expired = rows.Recover(r => r.LeaseExpiresAt is null && r.Owner == owner, now, JobRules.UnmonitoredOwnerGoneReason(owner));
        if (expired > 0) _availability.Signal(queue);
        return Task.FromResult(expired);
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<JobInfo>> ListJobsAsync(string queue, JobListState state, long afterId, int limit, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var rows = Rows(queue);
        lock (rows)
            return Task.FromResult<IReadOnlyList<JobInfo>>(rows.All.Values
                .Where(r => r.Id > afterId && JobRules.ListedAs(r.State, r.VisibleAt, now) == state)
                .OrderBy(r => r.Id).Take(limit).Select(r => r.ToInfo()).ToList());
    }

    /// <inheritdoc />
    public Task<JobInfo?> GetJobAsync(string queue, long jobId, CancellationToken cancellationToken)
    {
        var rows = Rows(queue);
        lock (rows)
            return Task.FromResult(rows.All.TryGetValue(jobId, out var row) ? row.ToInfo() : null);
    }

    /// <inheritdoc />
    public Task<QueueCounts> GetCountsAsync(string queue, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var rows = Rows(queue);
        lock (rows)
        {
            rows.PromoteVisible(now);
            return Task.FromResult(new QueueCounts(rows.AvailableCount, rows.DelayedCount, rows.Running.Count, rows.CompletedCount, rows.DeadLetters.Count));
        }
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<JobInfo>> GetDeadLettersAsync(string queue, int limit, CancellationToken cancellationToken)
    {
        var rows = Rows(queue);
        lock (rows)
            return Task.FromResult<IReadOnlyList<JobInfo>>(rows.DeadLetters.Values.Take(limit).Select(r => r.ToInfo()).ToList());
    }

    /// <inheritdoc />
    public Task<JobUpdateOutcome> RequeueDeadLetterAsync(string queue, long jobId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var rows = Rows(queue);
        lock (rows)
        {
            if (!rows.All.TryGetValue(jobId, out var row)) return Answers[(int)JobUpdateOutcome.NotFound];
            if (row.State != JobState.DeadLettered) return Answers[(int)JobUpdateOutcome.LeaseLost];
            rows.DeadLetters.Remove(row.Id);
            row.Attempt = 0;
            row.FinishedAt = null;
            row.VisibleAt = now;
            row.Position = JobRules.Position(front: false, now);
            rows.MakeAvailable(row, now);
        }

        _availability.Signal(queue);
        return Answers[(int)JobUpdateOutcome.Updated];
    }

    /// <inheritdoc />
    public Task<int> PurgeDeadLettersAsync(string queue, IReadOnlyList<long>? jobIds, CancellationToken cancellationToken)
    {
        QueueLimits.ValidatePurgeJobIds(jobIds);
        var rows = Rows(queue);
        lock (rows)
            return Task.FromResult(rows.PurgeDeadLetters(jobIds));
    }

    /// <inheritdoc />
    public Task<DateTimeOffset?> GetNextVisibleAtAsync(string queue, CancellationToken cancellationToken)
    {
        var rows = Rows(queue);
        lock (rows)
            return Task.FromResult(rows.NextVisibleAt());
    }

    /// <inheritdoc />
    public Task<int> PruneFinishedAsync(string queue, DateTimeOffset completedBefore, DateTimeOffset deadLetteredBefore, CancellationToken cancellationToken)
    {
        var rows = Rows(queue);
        lock (rows)
            return Task.FromResult(rows.Prune(completedBefore, deadLetteredBefore));
    }

    /// <inheritdoc />
    public IJobAvailabilitySubscription SubscribeAvailability(string queue) => _availability.Subscribe(queue);

    private QueueRows Rows(string queue) => _queues.GetOrAdd(queue, static q => new QueueRows(q));
}
