using Orleans.Jobs.Grains.Interfaces;

namespace Orleans.Jobs.Storage.InMemory;

public sealed partial class InMemoryJobStore
{
    /// <summary>One job. Times are kept as UTC ticks (<see cref="NoTime"/> for none): a row of the archive is small.</summary>
    private sealed class JobRow
    {
        private const long NoTime = long.MinValue;

        public long Id;
        public required string Queue;
        public required string Payload;
        public int Priority;
        public JobState State;
        public int Attempt;
        public int MaxAttempts;
        public long Position;
        public long EnqueuedTicks;
        public long VisibleTicks;
        public long LeaseExpiresTicks = NoTime;
        public long FinishedTicks = NoTime;
        public Guid LeaseToken; // the holder's while running; after a finish, a fail or its scheduled retry, that attempt's
        public Guid ClaimId; // empty: not held by a claim
        public string? Owner;
        public string? Result;
        public string? LastError;

        public DateTimeOffset EnqueuedAt
        {
            get => new(EnqueuedTicks, TimeSpan.Zero);
            init => EnqueuedTicks = value.UtcTicks;
        }

        public DateTimeOffset VisibleAt
        {
            get => new(VisibleTicks, TimeSpan.Zero);
            set => VisibleTicks = value.UtcTicks;
        }

        public DateTimeOffset? LeaseExpiresAt
        {
            get => LeaseExpiresTicks == NoTime ? null : new DateTimeOffset(LeaseExpiresTicks, TimeSpan.Zero);
            set => LeaseExpiresTicks = value?.UtcTicks ?? NoTime;
        }

        public DateTimeOffset? FinishedAt
        {
            get => FinishedTicks == NoTime ? null : new DateTimeOffset(FinishedTicks, TimeSpan.Zero);
            set => FinishedTicks = value?.UtcTicks ?? NoTime;
        }

        /// <summary>Gives the row a lease of <paramref name="claim"/> from <paramref name="now"/> and returns it as claimed.</summary>
        public ClaimedJob Lease(JobClaim claim, DateTimeOffset now)
        {
            LeaseExpiresAt = claim.LeaseDuration is { } lease ? now + lease : null;
            Owner = claim.Owner;
            return new ClaimedJob(Id, Queue, Payload, Priority, Attempt, MaxAttempts, LeaseToken, claim.LeaseDuration, LeaseExpiresAt, EnqueuedAt);
        }

        public JobInfo ToInfo() => new(Id, Queue, State, Payload, Priority, Attempt, MaxAttempts, EnqueuedAt, VisibleAt, Owner, LeaseExpiresAt, FinishedAt, Result, LastError);
    }

    /// <summary>
    /// The rows of one queue. Every member is used under a lock on the instance, so each operation is short and in
    /// O(1) for the common case: claims take the head of the highest priority's rows, completions touch one row.
    /// </summary>
    private sealed class QueueRows(string queue)
    {
        private static readonly Comparer<JobRow> ClaimOrder = Comparer<JobRow>.Create(static (a, b) =>
        {
            var byPriority = b.Priority.CompareTo(a.Priority);
            return byPriority != 0 ? byPriority : ByClaimPosition.KeyOf(a).CompareTo(ByClaimPosition.KeyOf(b));
        });

        private readonly ReadyRows _available = new();
        private readonly OrderedRows<JobRow, ByVisibleTime> _delayed = new();
        private readonly OrderedRows<JobRow, ByFinishTime> _completed = new(); // for pruning

        public string Queue => queue;
        public Dictionary<long, JobRow> All { get; } = [];
        public Dictionary<long, JobRow> Running { get; } = [];
        public SortedDictionary<long, JobRow> DeadLetters { get; } = [];
        public int AvailableCount => _available.Count;
        public int DelayedCount => _delayed.Count;
        public long CompletedCount => _completed.Count;

        /// <summary>Adds a new row.</summary>
        public void Add(JobRow row, DateTimeOffset now)
        {
            All.Add(row.Id, row);
            MakeAvailable(row, now);
        }

        public void MakeAvailable(JobRow row, DateTimeOffset now)
        {
            row.State = JobState.Available;
            row.LeaseExpiresAt = null;
            row.Owner = null;
            row.LeaseToken = Guid.Empty;
            row.ClaimId = Guid.Empty;
            if (row.VisibleTicks <= now.UtcTicks) _available.Add(row);
            else _delayed.Add(row);
        }

        public void PromoteVisible(DateTimeOffset now)
        {
            while (_delayed.TryPeek(out var row) && row.VisibleTicks <= now.UtcTicks)
                _available.Add(_delayed.Take());
        }

        /// <summary>When the next available job is visible: now if one is, else the earliest delayed one's time; null when none.</summary>
        public DateTimeOffset? NextVisibleAt() =>
            _available.Count > 0 ? DateTimeOffset.MinValue
            : _delayed.TryPeek(out var row) ? row.VisibleAt
            : null;

        /// <summary>Claims up to MaxJobs visible rows in claim order into <paramref name="claimed"/>.</summary>
        public void Claim(JobClaim claim, DateTimeOffset now, List<ClaimedJob> claimed)
        {
            PromoteVisible(now);
            while (claimed.Count < claim.MaxJobs && _available.TryTake() is { } row)
            {
                row.State = JobState.Running;
                row.Attempt++;
                row.LeaseToken = UnguessableIds.Next();
                row.ClaimId = claim.ClaimId;
                Running.Add(row.Id, row);
                claimed.Add(row.Lease(claim, now));
            }
        }

        /// <summary>
        /// The row <paramref name="leaseToken"/> holds (running under that token); otherwise what is known of the job
        /// (null: no such job in the queue).
        /// </summary>
        public bool TryGetHeld(long jobId, Guid leaseToken, out JobRow row, out JobStanding? standing)
        {
            if (!All.TryGetValue(jobId, out row!))
            {
                standing = null;
                return false;
            }

            standing = row.State != JobState.Running || row.LeaseToken != leaseToken
                ? new JobStanding(row.State, row.LeaseToken == Guid.Empty ? null : row.LeaseToken, row.VisibleAt)
                : null;
            return standing is null;
        }

        /// <summary>Completes the running job <paramref name="leaseToken"/> holds; otherwise answers as the contract says.</summary>
        public JobUpdateOutcome Complete(long jobId, Guid leaseToken, string? result, DateTimeOffset now)
        {
            if (!TryGetHeld(jobId, leaseToken, out var row, out var standing)) return JobRules.CompletionNotApplied(standing, leaseToken);
            Finish(row, JobState.Completed, now, settledBy: leaseToken);
            row.Result = result;
            return JobUpdateOutcome.Updated;
        }

        /// <summary>Moves a running job to <paramref name="state"/>, recording the token of the attempt that settled it (empty: none, it was lost).</summary>
        public void Finish(JobRow row, JobState state, DateTimeOffset now, Guid settledBy)
        {
            Running.Remove(row.Id);
            row.State = state;
            row.FinishedAt = now;
            row.LeaseExpiresAt = null;
            row.LeaseToken = settledBy;
            row.ClaimId = Guid.Empty;
            if (state == JobState.DeadLettered) DeadLetters.Add(row.Id, row);
            else _completed.Add(row);
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
            var pruned = 0;
            while (_completed.TryPeek(out var finished) && finished.FinishedTicks < completedBefore.UtcTicks)
            {
                All.Remove(_completed.Take().Id);
                pruned++;
            }

            var expired = DeadLetters.Values.Where(r => r.FinishedAt < deadLetteredBefore).ToList();
            foreach (var row in expired)
            {
                All.Remove(row.Id);
                DeadLetters.Remove(row.Id);
            }

            return pruned + expired.Count;
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

        /// <summary>Claim order within a priority: position (expedites first, then by visible time), then id.</summary>
        private readonly struct ByClaimPosition : IRowOrder<JobRow>
        {
            public static RowKey KeyOf(JobRow row) => new(row.Position, row.Id);
        }

        private readonly struct ByVisibleTime : IRowOrder<JobRow>
        {
            public static RowKey KeyOf(JobRow row) => new(row.VisibleTicks, row.Id);
        }

        private readonly struct ByFinishTime : IRowOrder<JobRow>
        {
            public static RowKey KeyOf(JobRow row) => new(row.FinishedTicks, row.Id);
        }

        /// <summary>Visible rows by priority, highest first; within a priority in claim position order.</summary>
        private sealed class ReadyRows
        {
            private readonly List<(int Priority, OrderedRows<JobRow, ByClaimPosition> Rows)> _byPriority = []; // highest priority first
            private OrderedRows<JobRow, ByClaimPosition>? _spare; // an emptied priority's rows, kept for the next priority that needs some

            public int Count { get; private set; }

            public void Add(JobRow row)
            {
                var at = _byPriority.BinarySearch((row.Priority, null!), HighestFirst);
                if (at < 0)
                {
                    at = ~at;
                    _byPriority.Insert(at, (row.Priority, _spare ?? new OrderedRows<JobRow, ByClaimPosition>()));
                    _spare = null;
                }

                _byPriority[at].Rows.Add(row);
                Count++;
            }

            public JobRow? TryTake()
            {
                if (Count == 0) return null;
                var highest = _byPriority[0].Rows;
                var row = highest.Take();
                if (highest.Count == 0)
                {
                    _byPriority.RemoveAt(0);
                    _spare = highest;
                }

                Count--;
                return row;
            }

            private static readonly Comparer<(int Priority, OrderedRows<JobRow, ByClaimPosition> Rows)> HighestFirst =
                Comparer<(int Priority, OrderedRows<JobRow, ByClaimPosition> Rows)>.Create(static (a, b) => b.Priority.CompareTo(a.Priority));
        }
    }
}
