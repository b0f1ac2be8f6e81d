using Npgsql;
using NpgsqlTypes;
using Orleans.Jobs.Grains.Interfaces;

namespace Orleans.Jobs.Storage.PostgreSql;

public sealed partial class PostgresJobStore
{
    /// <summary>A send of at least this many jobs is copied in (binary COPY); a smaller one is one INSERT, a single round trip.</summary>
    internal const int CopyFromJobs = 64;

    /// <inheritdoc />
    public async Task<IReadOnlyList<long>> EnqueueAsync(string queue, IReadOnlyList<NewJob> jobs, DateTimeOffset now, CancellationToken cancellationToken) =>
        (await EnqueueManyAsync([new QueueSend(queue, jobs)], now, cancellationToken))[0];

    /// <inheritdoc />
    /// <remarks>
    /// One transaction for all the sends: their rows, then one notification per queue. A transaction that notified
    /// commits alone and holds the notify lock until its WAL flush, so many sends in one such transaction share it.
    /// </remarks>
    public async Task<IReadOnlyList<IReadOnlyList<long>>> EnqueueManyAsync(IReadOnlyList<QueueSend> sends, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var rows = new SendRow[sends.Sum(s => s.Jobs.Count)];
        var r = 0;
        foreach (var send in sends)
        {
            foreach (var job in send.Jobs)
            {
                var visible = job.VisibleAt is { } at && at > now ? at : now;
                rows[r++] = new SendRow(send.Queue, job, visible, JobRules.Position(job.Front, visible));
            }
        }

        var queues = sends.Select(s => s.Queue).Distinct(StringComparer.Ordinal).ToArray();
        var ids = rows.Length >= CopyFromJobs ? await CopyInAsync(rows, queues, now, cancellationToken) : await InsertAsync(rows, queues, now, cancellationToken);
        foreach (var queue in queues) _availability.Signal(queue); // this process's waiters need not wait for the NOTIFY round trip

        // Ids ascend in row order, so each send's ids are the next run of them.
        var perSend = new IReadOnlyList<long>[sends.Count];
        var taken = 0;
        for (var i = 0; i < sends.Count; i++)
        {
            perSend[i] = ids.GetRange(taken, sends[i].Jobs.Count);
            taken += sends[i].Jobs.Count;
        }

        return perSend;
    }

    /// <summary>A job row of a send: its queue, the job, when it becomes visible and its position.</summary>
    private readonly record struct SendRow(string Queue, NewJob Job, DateTimeOffset Visible, long Position);

    /// <summary>One INSERT and the notifications in one round trip (an implicit transaction): waiters wake once the rows are visible.</summary>
    private async Task<List<long>> InsertAsync(SendRow[] rows, string[] queues, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var batch = _dataSource.CreateBatch();
        batch.BatchCommands.Add(BatchCommand(_sql.Enqueue,
            ("now", now),
            ("queues", rows.Select(j => j.Queue).ToArray()),
            ("payloads", rows.Select(j => j.Job.Payload).ToArray()),
            ("priorities", rows.Select(j => j.Job.Priority).ToArray()),
            ("positions", rows.Select(j => j.Position).ToArray()),
            ("visible", rows.Select(j => j.Visible).ToArray()),
            ("maxAttempts", rows.Select(j => j.Job.MaxAttempts).ToArray())));
        batch.BatchCommands.Add(BatchCommand(_sql.NotifyQueues, ("channel", _sql.Channel), ("queues", queues)));

        var ids = new List<long>(rows.Length);
        await using (var reader = await batch.ExecuteReaderAsync(cancellationToken))
            while (await reader.ReadAsync(cancellationToken)) ids.Add(reader.GetInt64(0));
        ids.Sort(); // identities are assigned in input order
        return ids;
    }

    /// <summary>
    /// A bulk send in one transaction: takes ids for every job, copies the rows in (COPY fills heap pages several rows at
    /// a time, an INSERT one row at a time), then notifies. Four round trips instead of one, so only for large sends.
    /// </summary>
    private async Task<List<long>> CopyInAsync(SendRow[] rows, string[] queues, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var ids = new List<long>(rows.Length);
        await using (var reserve = Command(connection, transaction, _sql.ReserveJobIds, ("count", rows.Length)))
        await using (var reader = await reserve.ExecuteReaderAsync(cancellationToken))
            while (await reader.ReadAsync(cancellationToken)) ids.Add(reader.GetInt64(0));

        await using (var copy = await connection.BeginBinaryImportAsync(_sql.CopyJobs, cancellationToken))
        {
            for (var i = 0; i < rows.Length; i++)
            {
                var (queue, job, visible, position) = rows[i];
                await copy.StartRowAsync(cancellationToken);
                await copy.WriteAsync(ids[i], NpgsqlDbType.Bigint, cancellationToken);
                await copy.WriteAsync(queue, NpgsqlDbType.Text, cancellationToken);
                await copy.WriteAsync((short)JobState.Available, NpgsqlDbType.Smallint, cancellationToken);
                await copy.WriteAsync(job.Payload, NpgsqlDbType.Text, cancellationToken);
                await copy.WriteAsync(job.Priority, NpgsqlDbType.Integer, cancellationToken);
                await copy.WriteAsync(position, NpgsqlDbType.Bigint, cancellationToken);
                await copy.WriteAsync(now, NpgsqlDbType.TimestampTz, cancellationToken);
                await copy.WriteAsync(visible, NpgsqlDbType.TimestampTz, cancellationToken);
                await copy.WriteAsync(job.MaxAttempts, NpgsqlDbType.Integer, cancellationToken);
            }

            await copy.CompleteAsync(cancellationToken);
        }

        await using (var notify = Command(connection, transaction, _sql.NotifyQueues, ("channel", _sql.Channel), ("queues", queues)))
            await notify.ExecuteNonQueryAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return ids;
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<ClaimedJob>> ClaimAsync(string queue, JobClaim claim, DateTimeOffset now, CancellationToken cancellationToken) =>
        ConflictRetry.RunAsync(() => ClaimOnceAsync(queue, claim, now, cancellationToken), cancellationToken);

    private async Task<IReadOnlyList<ClaimedJob>> ClaimOnceAsync(string queue, JobClaim claim, DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (claim.Resume)
        {
            var (held, givenBack) = await ReadClaimedAsync(resume: true, queue, claim, now, cancellationToken);
            if (givenBack > 0) await NotifyAsync([queue], cancellationToken);
            if (held.Count > 0) return held;
        }

        return (await ReadClaimedAsync(resume: false, queue, claim, now, cancellationToken)).Jobs;
    }

    /// <summary>Runs <see cref="PostgresQueries.Claim"/> or <see cref="PostgresQueries.ResumeClaim"/>; the latter also says how many jobs it gave back.</summary>
    private async Task<(IReadOnlyList<ClaimedJob> Jobs, int GivenBack)> ReadClaimedAsync(bool resume, string queue, JobClaim claim, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var lease = claim.LeaseDuration;
        await using var command = Command(resume ? _sql.ResumeClaim : _sql.Claim, ("queue", queue), ("now", now), ("max", claim.MaxJobs), ("owner", claim.Owner), ("claim", claim.ClaimId),
            ("leaseUs", Nullable(lease is { } l ? Microseconds(l) : null)), ("expires", Nullable(lease is { } d ? now + d : null)));
        if (!resume) command.Parameters.AddWithValue("tokenKey", UnguessableIds.Next().ToString("N")); // the key of this claim's lease tokens
        var claimed = new List<(long Position, ClaimedJob Job)>();
        var givenBack = 0;
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var job = new ClaimedJob(reader.GetInt64(0), queue, reader.GetString(1), reader.GetInt32(2), reader.GetInt32(4), reader.GetInt32(5),
                reader.GetGuid(6), lease, reader.IsDBNull(7) ? null : reader.GetFieldValue<DateTimeOffset>(7), reader.GetFieldValue<DateTimeOffset>(8));
            claimed.Add((reader.GetInt64(3), job));
            if (reader.FieldCount > 9) givenBack = reader.GetInt32(9);
        }

        // UPDATE ... RETURNING has no order: restore the claim order.
        return (claimed.OrderByDescending(c => c.Job.Priority).ThenBy(c => c.Position).ThenBy(c => c.Job.JobId).Select(c => c.Job).ToList(), givenBack);
    }

    /// <inheritdoc />
    public async Task<JobUpdateOutcome> RenewLeaseAsync(string queue, long jobId, Guid leaseToken, DateTimeOffset expiresAt, CancellationToken cancellationToken)
    {
        await using var command = Command(_sql.Renew, ("id", jobId), ("queue", queue), ("token", leaseToken), ("expires", expiresAt));
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1 ? JobUpdateOutcome.Updated : JobRules.NotHeld(await ReadStandingAsync(queue, jobId, cancellationToken));
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<LeaseRenewal>> RenewLeasesAsync(IReadOnlyList<LeaseRenewal> leases, CancellationToken cancellationToken) =>
        leases.Count == 0 ? Task.FromResult<IReadOnlyList<LeaseRenewal>>([]) : ConflictRetry.RunAsync(() => RenewBatchAsync(leases, cancellationToken), cancellationToken);

    /// <summary>One statement per expiry time (a silo renews each tick to now plus each queue's lease, so there are few), all in one round trip.</summary>
    private async Task<IReadOnlyList<LeaseRenewal>> RenewBatchAsync(IReadOnlyList<LeaseRenewal> leases, CancellationToken cancellationToken)
    {
        await using var batch = _dataSource.CreateBatch();
        foreach (var group in leases.GroupBy(l => l.ExpiresAt))
        {
            batch.BatchCommands.Add(BatchCommand(_sql.RenewBatch, ("expires", group.Key),
                ("ids", group.Select(l => l.JobId).ToArray()),
                ("tokens", group.Select(l => l.LeaseToken).ToArray()),
                ("queues", group.Select(l => l.Queue).Distinct().ToArray())));
        }

        var renewed = new HashSet<long>();
        await using var reader = await batch.ExecuteReaderAsync(cancellationToken);
        do
        {
            while (await reader.ReadAsync(cancellationToken)) renewed.Add(reader.GetInt64(0));
        } while (await reader.NextResultAsync(cancellationToken));

        return [.. leases.Where(l => !renewed.Contains(l.JobId))];
    }

    private const string NotStarted = "The PostgreSQL store is not started: call StartAsync first (a silo does this when it starts).";

    /// <inheritdoc />
    public Task<JobUpdateOutcome> CompleteAsync(string queue, long jobId, Guid leaseToken, string? result, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var completions = _completions ?? throw new InvalidOperationException(NotStarted);
        return completions.CompleteAsync(new PendingCompletion(queue, jobId, leaseToken, result, now));
    }

    /// <inheritdoc />
    /// <remarks>
    /// Written at once (a silo's worker has batched them already), in statements of at most
    /// <see cref="PostgresStoreOptions.CompletionBatchSize"/>, beside the single completions that
    /// <see cref="CompleteAsync"/> queues up for the next batch; a statement that fails as a whole throws.
    /// </remarks>
    public async Task<IReadOnlyList<JobUpdateOutcome>> CompleteManyAsync(string queue, IReadOnlyList<JobCompletion> completions, DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (_completions is null) throw new InvalidOperationException(NotStarted);
        if (completions.Count == 0) return [];
        var pending = completions.Select(c => new PendingCompletion(queue, c.JobId, c.LeaseToken, c.Result, now)).ToList();
        // Statements of at most CompletionBatchSize: a statement's token match scans its tokens once per row. (Written
        // side by side instead, they were no faster and took a connection each.)
        foreach (var chunk in pending.Chunk(_options.CompletionBatchSize)) await WriteCompletionsAsync(chunk);
        return await Task.WhenAll(pending.Select(p => p.Outcome.Task));
    }

    /// <inheritdoc />
    public Task<FailResult> FailAsync(string queue, long jobId, Guid leaseToken, string error, RetryBackoff backoff, DateTimeOffset now, CancellationToken cancellationToken) =>
        ConflictRetry.RunAsync(() => FailOnceAsync(queue, jobId, leaseToken, error, backoff, now, cancellationToken), cancellationToken);

    private async Task<FailResult> FailOnceAsync(string queue, long jobId, Guid leaseToken, string error, RetryBackoff backoff, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        int attempt, maxAttempts;
        await using (var held = Command(connection, transaction, _sql.LockHeldJob, ("id", jobId), ("queue", queue), ("token", leaseToken)))
        await using (var reader = await held.ExecuteReaderAsync(cancellationToken))
        {
            if (!await reader.ReadAsync(cancellationToken))
            {
                await reader.DisposeAsync();
                return JobRules.FailNotApplied(await ReadStandingAsync(queue, jobId, cancellationToken), leaseToken);
            }

            (attempt, maxAttempts) = (reader.GetInt32(0), reader.GetInt32(1));
        }

        FailResult result;
        if (attempt >= maxAttempts)
        {
            await using var dead = Command(connection, transaction, _sql.DeadLetterJob, ("id", jobId), ("now", now), ("error", error));
            await dead.ExecuteNonQueryAsync(cancellationToken);
            result = new FailResult(FailOutcome.DeadLettered);
        }
        else
        {
            var retryAt = now + backoff.DelayAfter(attempt);
            await using var retry = Command(connection, transaction, _sql.RetryJob, ("id", jobId), ("visible", retryAt),
                ("position", JobRules.Position(front: false, retryAt)), ("error", error), ("drop", (long)backoff.PriorityDrop), ("min_priority", (long)QueueLimits.MinPriority));
            await retry.ExecuteNonQueryAsync(cancellationToken);
            result = new FailResult(FailOutcome.WillRetry, retryAt);
        }

        await transaction.CommitAsync(cancellationToken);
        return result;
    }

    /// <inheritdoc />
    public async Task<JobUpdateOutcome> ReleaseAsync(string queue, long jobId, Guid leaseToken, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var command = Command(_sql.Release, ("id", jobId), ("queue", queue), ("token", leaseToken));
        if (await command.ExecuteNonQueryAsync(cancellationToken) == 0) return JobRules.NotHeld(await ReadStandingAsync(queue, jobId, cancellationToken));
        await NotifyAsync([queue], cancellationToken);
        return JobUpdateOutcome.Updated;
    }

    /// <inheritdoc />
    public Task<int> RecoverExpiredLeasesAsync(string queue, DateTimeOffset now, CancellationToken cancellationToken) =>
        RecoverAsync(_sql.RecoverExpired, cancellationToken, ("queue", queue), ("now", now), ("reason", JobRules.LeaseExpiredReason));

    /// <inheritdoc />
    public Task<int> RecoverJobsOfOwnerAsync(string owner, DateTimeOffset now, CancellationToken cancellationToken) =>
        RecoverAsync(_sql.RecoverOwner, cancellationToken, ("owner", owner), ("now", now), ("reason", JobRules.OwnerDiedReason(owner)));

    /// <inheritdoc />
    public Task<int> ExpireUnmonitoredJobsAsync(string queue, string owner, DateTimeOffset now, CancellationToken cancellationToken) =>
        RecoverAsync(_sql.ExpireUnmonitored, cancellationToken, ("queue", queue), ("owner", owner), ("now", now), ("reason", JobRules.UnmonitoredOwnerGoneReason(owner)));

    /// <inheritdoc />
    public async Task<IReadOnlyList<JobInfo>> ListJobsAsync(string queue, JobListState state, long afterId, int limit, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var (sql, stored) = state switch
        {
            JobListState.Available or JobListState.Scheduled => (_sql.ListJobs, JobState.Available),
            JobListState.Running => (_sql.ListJobs, JobState.Running),
            JobListState.Completed => (_sql.ListFinishedJobs, JobState.Completed),
            _ => (_sql.ListFinishedJobs, JobState.DeadLettered),
        };
        await using var command = Command(sql, ("queue", queue), ("state", (short)stored), ("after", afterId), ("limit", limit), ("now", now),
            ("visibleNow", state != JobListState.Scheduled));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var jobs = new List<JobInfo>();
        while (await reader.ReadAsync(cancellationToken)) jobs.Add(ReadJob(reader));
        return jobs;
    }

    /// <inheritdoc />
    public async Task<JobInfo?> GetJobAsync(string queue, long jobId, CancellationToken cancellationToken)
    {
        await using var command = Command(_sql.ReadJob, ("id", jobId), ("queue", queue));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? ReadJob(reader) : null;
    }

    /// <inheritdoc />
    public async Task<QueueCounts> GetCountsAsync(string queue, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var command = Command(_sql.CountJobs, ("queue", queue), ("now", now));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return new QueueCounts(reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3), reader.GetInt64(4));
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<JobInfo>> GetDeadLettersAsync(string queue, int limit, CancellationToken cancellationToken)
    {
        await using var command = Command(_sql.DeadLetters, ("queue", queue), ("limit", limit));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var jobs = new List<JobInfo>();
        while (await reader.ReadAsync(cancellationToken)) jobs.Add(ReadJob(reader));
        return jobs;
    }

    /// <inheritdoc />
    public async Task<JobUpdateOutcome> RequeueDeadLetterAsync(string queue, long jobId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var command = Command(_sql.Requeue, ("id", jobId), ("queue", queue), ("now", now), ("position", JobRules.Position(front: false, now)));
        if (await command.ExecuteNonQueryAsync(cancellationToken) == 1)
        {
            await NotifyAsync([queue], cancellationToken);
            return JobUpdateOutcome.Updated;
        }

        return await GetJobAsync(queue, jobId, cancellationToken) is null ? JobUpdateOutcome.NotFound : JobUpdateOutcome.LeaseLost;
    }

    /// <inheritdoc />
    public async Task<int> PurgeDeadLettersAsync(string queue, IReadOnlyList<long>? jobIds, CancellationToken cancellationToken)
    {
        QueueLimits.ValidatePurgeJobIds(jobIds);
        await using var command = jobIds is null
            ? Command(_sql.PurgeAllDeadLetters, ("queue", queue))
            : Command(_sql.PurgeDeadLetters, ("queue", queue), ("ids", jobIds.ToArray()));
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <inheritdoc />
    public async Task<DateTimeOffset?> GetNextVisibleAtAsync(string queue, CancellationToken cancellationToken)
    {
        await using var command = Command(_sql.NextVisible, ("queue", queue));
        return await command.ExecuteScalarAsync(cancellationToken) is DateTime at ? new DateTimeOffset(at, TimeSpan.Zero) : null;
    }

    /// <inheritdoc />
    public async Task<int> PruneFinishedAsync(string queue, DateTimeOffset completedBefore, DateTimeOffset deadLetteredBefore, CancellationToken cancellationToken)
    {
        await using var command = Command(_sql.PruneFinished, ("queue", queue), ("completedBefore", completedBefore), ("deadBefore", deadLetteredBefore));
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <inheritdoc />
    public IJobAvailabilitySubscription SubscribeAvailability(string queue) => _availability.Subscribe(queue);

    /// <summary>Writes <paramref name="batch"/> and sets each completion's outcome; throws when the batch failed as a whole.</summary>
    internal async Task WriteCompletionsAsync(IReadOnlyList<PendingCompletion> batch)
    {
        HashSet<(string, long, Guid)>? completed;
        try
        {
            completed = await ConflictRetry.RunAsync(() => CompleteBatchAsync(batch), CancellationToken.None);
        }
        catch (PostgresException dataError) when (batch.Count > 1 && dataError.SqlState[..2] is "22" or "23" or "54")
        {
            completed = null; // a data error in one row must not fail the others (connection errors fail the batch as a whole; the callers retry)
        }

        if (completed is null)
        {
            // Written one by one, each failing on its own.
            foreach (var completion in batch)
            {
                try { await WriteCompletionsAsync([completion]); }
                catch (Exception e) { completion.Outcome.TrySetException(e); }
            }

            return;
        }

        // Matched on queue, id and token: a stale holder batched with the current one is not told it finished the job.
        foreach (var completion in batch)
        {
            if (completed.Contains((completion.Queue, completion.JobId, completion.LeaseToken)))
                completion.Outcome.TrySetResult(JobUpdateOutcome.Updated);
            else
                completion.Outcome.TrySetResult(JobRules.CompletionNotApplied(await ReadStandingAsync(completion.Queue, completion.JobId, CancellationToken.None), completion.LeaseToken));
        }
    }

    /// <summary>
    /// Writes a batch with one <see cref="PostgresQueries.CompleteBatch"/> per queue, in one round trip and one
    /// transaction; returns the (queue, id, token) it completed, or null when it rolled the batch back. Each statement
    /// matches its queue's rows by "id among the ids and token among the tokens", which is exact for every pair it was
    /// given; a row matched by one pair's id and another's token (a holder that named the wrong job) is not, and is not
    /// archived, so a batch in which a statement returned a pair it was not given is rolled back and its completions
    /// are written one by one, where the match is exact.
    /// </summary>
    private async Task<HashSet<(string, long, Guid)>?> CompleteBatchAsync(IReadOnlyList<PendingCompletion> batch)
    {
        // Per queue, each (id, token) once: a repeated completion is written once and answered like the first.
        var byQueue = batch.GroupBy(c => c.Queue, StringComparer.Ordinal)
            .Select(queue => (Queue: queue.Key, Pairs: queue.DistinctBy(c => (c.JobId, c.LeaseToken)).ToDictionary(c => (c.JobId, c.LeaseToken))))
            .ToList();

        var single = byQueue.Count == 1 && byQueue[0].Pairs.Count == 1;
        await using var connection = await _dataSource.OpenConnectionAsync();
        await using var transaction = single ? null : await connection.BeginTransactionAsync();
        await using var statements = new NpgsqlBatch(connection, transaction);
        foreach (var (queue, pairs) in byQueue)
        {
            statements.BatchCommands.Add(BatchCommand(_sql.CompleteBatch,
                ("queue", queue),
                ("ids", pairs.Values.Select(c => c.JobId).ToArray()),
                ("tokens", pairs.Values.Select(c => c.LeaseToken).ToArray()),
                ("results", pairs.Values.Select(c => c.Result).ToArray()),
                ("finished", pairs.Values.Select(c => c.FinishedAt).ToArray())));
        }

        var completed = new HashSet<(string, long, Guid)>();
        var exact = true;
        await using (var reader = await statements.ExecuteReaderAsync())
        {
            var statement = 0; // result sets come back in the statements' order
            do
            {
                var (queue, pairs) = byQueue[statement++];
                while (await reader.ReadAsync())
                {
                    var pair = (reader.GetInt64(0), reader.GetGuid(1));
                    exact &= pairs.ContainsKey(pair);
                    completed.Add((queue, pair.Item1, pair.Item2));
                }
            } while (await reader.NextResultAsync());
        }

        if (transaction is null) return completed;
        if (!exact)
        {
            await transaction.RollbackAsync();
            return null;
        }

        await transaction.CommitAsync();
        return completed;
    }

    /// <summary>What the store knows of a job whose lease token did not match a change; null when there is no such job.</summary>
    private async Task<JobStanding?> ReadStandingAsync(string queue, long jobId, CancellationToken cancellationToken)
    {
        await using var command = Command(_sql.ReadStanding, ("id", jobId), ("queue", queue));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken)) return null;
        return new JobStanding((JobState)reader.GetInt16(0), reader.IsDBNull(1) ? null : reader.GetGuid(1), reader.GetFieldValue<DateTimeOffset>(2));
    }

    private async Task<int> RecoverAsync(string sql, CancellationToken cancellationToken, params (string, object?)[] parameters)
    {
        var queues = new List<string>();
        var total = 0;
        await using (var command = Command(sql, parameters))
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                queues.Add(reader.GetString(0));
                total += reader.GetInt32(1);
            }
        }

        if (queues.Count > 0) await NotifyAsync(queues, cancellationToken);
        return total;
    }

    private async Task NotifyAsync(IReadOnlyList<string> queues, CancellationToken cancellationToken)
    {
        await using var batch = _dataSource.CreateBatch();
        foreach (var queue in queues) batch.BatchCommands.Add(NotifyCommand(queue));
        await batch.ExecuteNonQueryAsync(cancellationToken);
        foreach (var queue in queues) _availability.Signal(queue);
    }

    private NpgsqlBatchCommand NotifyCommand(string queue) => BatchCommand(_sql.Notify, ("channel", _sql.Channel), ("queue", queue));

    private static NpgsqlBatchCommand BatchCommand(string sql, params (string Name, object? Value)[] parameters)
    {
        var command = new NpgsqlBatchCommand(sql);
        foreach (var (name, value) in parameters) command.Parameters.Add(new NpgsqlParameter(name, value));
        return command;
    }

    private static JobInfo ReadJob(NpgsqlDataReader reader) => new(
        reader.GetInt64(0),
        reader.GetString(1),
        (JobState)reader.GetInt16(2),
        reader.GetString(3),
        reader.GetInt32(4),
        reader.GetInt32(5),
        reader.GetInt32(6),
        reader.GetFieldValue<DateTimeOffset>(7),
        reader.GetFieldValue<DateTimeOffset>(8),
        reader.IsDBNull(9) ? null : reader.GetString(9),
        reader.IsDBNull(10) ? null : reader.GetFieldValue<DateTimeOffset>(10),
        reader.IsDBNull(11) ? null : reader.GetFieldValue<DateTimeOffset>(11),
        reader.IsDBNull(12) ? null : reader.GetString(12),
        reader.IsDBNull(13) ? null : reader.GetString(13));
}
