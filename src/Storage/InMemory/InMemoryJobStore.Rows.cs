using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Orleans.Jobs.Grains.Interfaces;

namespace Orleans.Jobs.Storage.InMemory;

public sealed partial class InMemoryJobStore
{
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

    /// <summary>
    /// The rows of one queue. Every member is used under a lock on the instance, so each operation is short and in
    /// O(1) for the common case: claims take the head of the highest priority's rows, completions touch one row.
    /// </summary>
    private sealed class QueueRows(string queue)
    {
        private static readonly Comparer<JobRow> ClaimOrder = Comparer<JobRow>.Create(static (a, b) =>
        {
            var byPriority = b.Priority.CompareTo(a.Priority);
            return byPriority != 0 ? byPriority : ClaimKey(a).CompareTo(ClaimKey(b));
        });

        private readonly ReadyRows _available = new();
        private readonly OrderedRows<JobRow> _delayed = new();
        private readonly OrderedRows<JobRow> _completed = new(); // by finish time, for pruning
        private readonly Guid[] _leaseTokens = new Guid[256];
        private int _leaseTokensUsed = int.MaxValue;

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
            row.ClaimId = null;
            if (row.VisibleAt <= now) _available.Add(row);
            else _delayed.Add(row, new RowKey(row.VisibleAt.UtcTicks, row.Id));
        }

        public void PromoteVisible(DateTimeOffset now)
        {
            while (_delayed.TryPeek(out _, out var visible) && visible.At <= now.UtcTicks)
                _available.Add(_delayed.Take());
        }

        /// <summary>When the next available job is visible: now if one is, else the earliest delayed one's time; null when none.</summary>
        public DateTimeOffset? NextVisibleAt() =>
            _available.Count > 0 ? DateTimeOffset.MinValue
            : _delayed.TryPeek(out var row, out _) ? row.VisibleAt
            : null;

        /// <summary>Claims up to MaxJobs visible rows in claim order into <paramref name="claimed"/>.</summary>
        public void Claim(JobClaim claim, DateTimeOffset now, List<ClaimedJob> claimed)
        {
            PromoteVisible(now);
            while (claimed.Count < claim.MaxJobs && _available.TryTake() is { } row)
            {
                row.State = JobState.Running;
                row.Attempt++;
                row.LeaseToken = NextLeaseToken();
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
            row.ClaimId = null;
            if (state == JobState.DeadLettered) DeadLetters.Add(row.Id, row);
            else _completed.Add(row, new RowKey(now.UtcTicks, row.Id));
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
            while (_completed.TryPeek(out _, out var finished) && finished.At < completedBefore.UtcTicks)
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

        /// <summary>
        /// A fresh unguessable lease token. They come from the system's secure random source in blocks, so a claim of
        /// many jobs costs one read of it rather than one per job.
        /// </summary>
        private Guid NextLeaseToken()
        {
            if (_leaseTokensUsed >= _leaseTokens.Length)
            {
                RandomNumberGenerator.Fill(MemoryMarshal.AsBytes(_leaseTokens.AsSpan()));
                _leaseTokensUsed = 0;
            }

            return _leaseTokens[_leaseTokensUsed++];
        }

        private static RowKey ClaimKey(JobRow row) => new(row.Position, row.Id);

        /// <summary>Visible rows by priority, highest first; within a priority in claim position order.</summary>
        private sealed class ReadyRows
        {
            private readonly List<(int Priority, OrderedRows<JobRow> Rows)> _byPriority = []; // highest priority first
            private OrderedRows<JobRow>? _spare; // an emptied priority's rows, kept for the next priority that needs some

            public int Count { get; private set; }

            public void Add(JobRow row)
            {
                var at = _byPriority.BinarySearch((row.Priority, null!), HighestFirst);
                if (at < 0)
                {
                    at = ~at;
                    _byPriority.Insert(at, (row.Priority, _spare ?? new OrderedRows<JobRow>()));
                    _spare = null;
                }

                _byPriority[at].Rows.Add(row, ClaimKey(row));
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

            private static readonly Comparer<(int Priority, OrderedRows<JobRow> Rows)> HighestFirst =
                Comparer<(int Priority, OrderedRows<JobRow> Rows)>.Create(static (a, b) => b.Priority.CompareTo(a.Priority));
        }
    }
}
