using System.Collections.Concurrent;
using Orleans.Jobs.Grains.Interfaces;

namespace Orleans.Jobs.Storage.InMemory;

public sealed partial class InMemoryJobStore
{
    private readonly ConcurrentDictionary<string, QueueRows> _queues = new(StringComparer.Ordinal);
    private readonly AvailabilityBroadcaster _availability = new();
    private long _lastJobId;

    /// <inheritdoc />
    public Task<IReadOnlyList<long>> EnqueueAsync(string queue, IReadOnlyList<NewJob> jobs, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var rows = Rows(queue);
        var ids = new long[jobs.Count];
        lock (rows)
        {
            for (var i = 0; i < jobs.Count; i++)
            {
                var job = jobs[i];
                var visibleAt = job.VisibleAt is { } at && at > now ? at : now;
                var row = new JobRow
                {
                    Id = Interlocked.Increment(ref _lastJobId),
                    Queue = queue,
                    Payload = job.Payload,
                    Priority = job.Priority,
                    Position = JobRules.Position(job.Front, visibleAt),
                    EnqueuedAt = now,
                    VisibleAt = visibleAt,
                    MaxAttempts = job.MaxAttempts,
                };
                rows.All.Add(row.Id, row);
                rows.MakeAvailable(row, now);
                ids[i] = row.Id;
            }
        }

        _availability.Signal(queue);
        return Task.FromResult<IReadOnlyList<long>>(ids);
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<ClaimedJob>> ClaimAsync(string queue, JobClaim claim, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var rows = Rows(queue);
        var claimed = new List<ClaimedJob>();
        var givenBack = 0;
        lock (rows)
        {
            if (claim.Resume) givenBack = rows.ResumeClaim(claim, now, claimed);
            if (claimed.Count == 0)
            {
                rows.PromoteVisible(now);
                while (claimed.Count < claim.MaxJobs && rows.Available.Min is { } row)
                {
                    rows.Available.Remove(row);
                    row.State = JobState.Running;
                    row.Attempt++;
                    row.LeaseToken = Guid.NewGuid();
                    row.ClaimId = claim.ClaimId;
                    rows.Running.Add(row.Id, row);
                    claimed.Add(row.Lease(claim, now));
                }
            }
        }

        if (givenBack > 0) _availability.Signal(queue);
        return Task.FromResult<IReadOnlyList<ClaimedJob>>(claimed);
    }

    /// <inheritdoc />
    public Task<JobUpdateOutcome> RenewLeaseAsync(string queue, long jobId, Guid leaseToken, DateTimeOffset expiresAt, CancellationToken cancellationToken) =>
        UpdateHeld(queue, jobId, leaseToken, (rows, row) =>
        {
            if (row.LeaseExpiresAt is null) return JobUpdateOutcome.LeaseLost; // unmonitored claims hold no lease to renew
            row.LeaseExpiresAt = expiresAt;
            return JobUpdateOutcome.Updated;
        }, JobRules.NotHeld);

    /// <inheritdoc />
    public Task<JobUpdateOutcome> CompleteAsync(string queue, long jobId, Guid leaseToken, string? result, DateTimeOffset now, CancellationToken cancellationToken) =>
        UpdateHeld(queue, jobId, leaseToken, (rows, row) =>
        {
            rows.Finish(row, JobState.Completed, now, settledBy: leaseToken);
            row.Result = result;
            return JobUpdateOutcome.Updated;
        }, standing => JobRules.CompletionNotApplied(standing, leaseToken));

    /// <inheritdoc />
    public Task<FailResult> FailAsync(string queue, long jobId, Guid leaseToken, string error, RetryBackoff backoff, DateTimeOffset now, CancellationToken cancellationToken) =>
        UpdateHeld(queue, jobId, leaseToken, (rows, row) =>
        {
            row.LastError = error;
            if (row.Attempt >= row.MaxAttempts)
            {
                rows.Finish(row, JobState.DeadLettered, now, settledBy: leaseToken);
                return new FailResult(FailOutcome.DeadLettered);
            }

            rows.Running.Remove(row.Id);
            row.Priority = backoff.RetryPriority(row.Priority);
            row.VisibleAt = now + backoff.DelayAfter(row.Attempt);
            row.Position = JobRules.Position(front: false, row.VisibleAt);
            rows.MakeAvailable(row, now);
            row.LeaseToken = leaseToken; // the failed attempt's: a repeated fail by it gets this answer again
            return new FailResult(FailOutcome.WillRetry, row.VisibleAt);
        }, standing => JobRules.FailNotApplied(standing, leaseToken));

    /// <inheritdoc />
    public Task<JobUpdateOutcome> ReleaseAsync(string queue, long jobId, Guid leaseToken, DateTimeOffset now, CancellationToken cancellationToken) =>
        UpdateHeld(queue, jobId, leaseToken, (rows, row) =>
        {
            rows.GiveBack(row, now);
            return JobUpdateOutcome.Updated;
        }, JobRules.NotHeld);

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
            return Task.FromResult(new QueueCounts(rows.Available.Count, rows.Delayed.Count, rows.Running.Count, rows.CompletedCount, rows.DeadLetters.Count));
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
            if (!rows.All.TryGetValue(jobId, out var row)) return Task.FromResult(JobUpdateOutcome.NotFound);
            if (row.State != JobState.DeadLettered) return Task.FromResult(JobUpdateOutcome.LeaseLost);
            rows.DeadLetters.Remove(row.Id);
            row.Attempt = 0;
            row.FinishedAt = null;
            row.VisibleAt = now;
            row.Position = JobRules.Position(front: false, now);
            rows.MakeAvailable(row, now);
        }

        _availability.Signal(queue);
        return Task.FromResult(JobUpdateOutcome.Updated);
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
        {
            DateTimeOffset? next = rows.Available.Count > 0 ? DateTimeOffset.MinValue : rows.Delayed.Min?.VisibleAt;
            return Task.FromResult(next);
        }
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

    /// <summary>
    /// Applies <paramref name="update"/> to a job <paramref name="leaseToken"/> holds; otherwise answers with
    /// <paramref name="notHeld"/> from what is known of the job (null: no such job in the queue).
    /// </summary>
    private Task<T> UpdateHeld<T>(string queue, long jobId, Guid leaseToken, Func<QueueRows, JobRow, T> update, Func<JobStanding?, T> notHeld)
    {
        var rows = Rows(queue);
        T outcome;
        var signal = false;
        lock (rows)
        {
            if (!rows.All.TryGetValue(jobId, out var row))
                return Task.FromResult(notHeld(null));
            if (row.State != JobState.Running || row.LeaseToken != leaseToken)
                return Task.FromResult(notHeld(new JobStanding(row.State, row.LeaseToken == Guid.Empty ? null : row.LeaseToken, row.VisibleAt)));
            outcome = update(rows, row);
            signal = row.State == JobState.Available;
        }

        if (signal) _availability.Signal(queue);
        return Task.FromResult(outcome);
    }

    private sealed class JobRow
    {
        public long Id;
        public required string Queue;
        public required string Payload;
        public int Priority;
        public long Position;
        public DateTimeOffset EnqueuedAt;
        public DateTimeOffset VisibleAt;
        public JobState State;
        public int Attempt;
        public int MaxAttempts;
        public Guid LeaseToken; // the holder's while running; after a finish, a fail or its scheduled retry, that attempt's
        public Guid? ClaimId;
        public DateTimeOffset? LeaseExpiresAt;
        public string? Owner;
        public DateTimeOffset? FinishedAt;
        public string? Result;
        public string? LastError;

        /// <summary>Gives the row a lease of <paramref name="claim"/> from <paramref name="now"/> and returns it as claimed.</summary>
        public ClaimedJob Lease(JobClaim claim, DateTimeOffset now)
        {
            LeaseExpiresAt = claim.LeaseDuration is { } lease ? now + lease : null;
            Owner = claim.Owner;
            return new ClaimedJob(Id, Queue, Payload, Priority, Attempt, MaxAttempts, LeaseToken, claim.LeaseDuration, LeaseExpiresAt, EnqueuedAt);
        }

        public JobInfo ToInfo() => new(Id, Queue, State, Payload, Priority, Attempt, MaxAttempts, EnqueuedAt, VisibleAt, Owner, LeaseExpiresAt, FinishedAt, Result, LastError);
    }

    /// <summary>The rows of one queue. Every member is used under a lock on the instance.</summary>
    private sealed class QueueRows(string queue)
    {
        private static readonly Comparer<JobRow> ClaimOrder = Comparer<JobRow>.Create(static (a, b) =>
        {
            var byPriority = b.Priority.CompareTo(a.Priority);
            if (byPriority != 0) return byPriority;
            var byPosition = a.Position.CompareTo(b.Position);
            return byPosition != 0 ? byPosition : a.Id.CompareTo(b.Id);
        });

        private static readonly Comparer<JobRow> VisibilityOrder = Comparer<JobRow>.Create(static (a, b) =>
        {
            var byTime = a.VisibleAt.CompareTo(b.VisibleAt);
            return byTime != 0 ? byTime : a.Id.CompareTo(b.Id);
        });

        public string Queue => queue;
        public Dictionary<long, JobRow> All { get; } = [];
        public SortedSet<JobRow> Available { get; } = new(ClaimOrder);
        public SortedSet<JobRow> Delayed { get; } = new(VisibilityOrder);
        public Dictionary<long, JobRow> Running { get; } = [];
        public SortedDictionary<long, JobRow> DeadLetters { get; } = [];
        public long CompletedCount { get; private set; }

        public void MakeAvailable(JobRow row, DateTimeOffset now)
        {
            row.State = JobState.Available;
            row.LeaseExpiresAt = null;
            row.Owner = null;
            row.LeaseToken = Guid.Empty;
            row.ClaimId = null;
            if (row.VisibleAt <= now) Available.Add(row);
            else Delayed.Add(row);
        }

        public void PromoteVisible(DateTimeOffset now)
        {
            while (Delayed.Min is { } row && row.VisibleAt <= now)
            {
                Delayed.Remove(row);
                Available.Add(row);
            }
        }

        /// <summary>Moves a running job to <paramref name="state"/>, recording the token of the attempt that settled it (empty: none, it was lost).</summary>
        public void Finish(JobRow row, JobState state, DateTimeOffset now, Guid settledBy)
        {
            Running.Remove(row.Id);
            row.State = state;
            row.FinishedAt = now;
            row.LeaseExpiresAt = null;
            row.LeaseToken = settledBy;
            row.ClaimId = null;
            if (state == JobState.DeadLettered) DeadLetters.Add(row.Id, row);
            else CompletedCount++;
        }

        /// <summary>Returns a running job to the queue without counting its attempt: it was not tried.</summary>
        public void GiveBack(JobRow row, DateTimeOffset now)
        {
            Running.Remove(row.Id);
            row.Attempt--;
            MakeAvailable(row, now);
        }

        /// <summary>
        /// Adds to <paramref name="claimed"/> the jobs <paramref name="claim"/>'s id still holds, up to its MaxJobs in
        /// claim order with a lease from now; gives back the rest uncounted and returns how many.
        /// </summary>
        public int ResumeClaim(JobClaim claim, DateTimeOffset now, List<ClaimedJob> claimed)
        {
            var held = Running.Values.Where(r => r.ClaimId == claim.ClaimId).Order(ClaimOrder).ToList();
            foreach (var row in held.Take(claim.MaxJobs)) claimed.Add(row.Lease(claim, now));
            foreach (var row in held.Skip(claim.MaxJobs)) GiveBack(row, now);

            return Math.Max(0, held.Count - claim.MaxJobs);
        }

        public int Prune(DateTimeOffset completedBefore, DateTimeOffset deadLetteredBefore)
        {
            var expired = All.Values.Where(r =>
                (r.State == JobState.Completed && r.FinishedAt < completedBefore) ||
                (r.State == JobState.DeadLettered && r.FinishedAt < deadLetteredBefore)).ToList();
            foreach (var row in expired)
            {
                All.Remove(row.Id);
                if (row.State == JobState.Completed) CompletedCount--;
                else DeadLetters.Remove(row.Id);
            }

            return expired.Count;
        }

        /// <summary>Deletes the dead letters among <paramref name="jobIds"/> (all when null); returns how many.</summary>
        public int PurgeDeadLetters(IReadOnlyList<long>? jobIds)
        {
            var purged = jobIds is null ? [.. DeadLetters.Keys] : jobIds.Distinct().Where(DeadLetters.ContainsKey).ToList();
            foreach (var id in purged)
            {
                DeadLetters.Remove(id);
                All.Remove(id);
            }

            return purged.Count;
        }

        /// <summary>Returns the running jobs matching <paramref name="lost"/> to the queue, or dead-letters them on their last attempt.</summary>
        public int Recover(Func<JobRow, bool> lost, DateTimeOffset now, string reason)
        {
            var rows = Running.Values.Where(lost).ToList();
            foreach (var row in rows)
            {
                row.LastError = JobRules.LostAttempt(row.Attempt, row.MaxAttempts, reason);
                if (row.Attempt >= row.MaxAttempts)
                {
                    Finish(row, JobState.DeadLettered, now, settledBy: Guid.Empty);
                }
                else
                {
                    Running.Remove(row.Id);
                    MakeAvailable(row, now);
                }
            }

            return rows.Count;
        }
    }
}
