namespace Orleans.Jobs.Storage.PostgreSql;

/// <summary>
/// Every SQL statement of the PostgreSQL provider (the schema itself is in Migrations/). Statements are written
/// against the placeholder schema "{schema}" and bound to the configured schema once, when the store is created.
/// Every statement on jobs is keyed by queue (or by owner for dead-silo recovery), on event logs by log, and on pipeline
/// results by pipeline, so the tables can be sharded.
/// </summary>
internal sealed class PostgresQueries(string schema)
{
    private string S(string sql) => sql.Replace("{schema}", schema, StringComparison.Ordinal);

    /// <summary>The NOTIFY channel of this schema: payload is the queue name.</summary>
    public string Channel { get; } = $"oj_{schema}";

    // ---- migrations ----

    public string MigrationLock => "select pg_advisory_lock(@key)";
    public string MigrationUnlock => "select pg_advisory_unlock(@key)";
    public string CreateSchema => S("create schema if not exists {schema}; create table if not exists {schema}.schema_migrations (version int primary key, name text not null, applied_at timestamptz not null default now())");
    public string AppliedMigrations => S("select version from {schema}.schema_migrations");
    public string RecordMigration => S("insert into {schema}.schema_migrations (version, name) values (@version, @name)");
    public string Bind(string migrationSql) => S(migrationSql);

    // ---- jobs ----

    private const string JobColumns = "id, queue, state, payload, priority, attempt, max_attempts, enqueued_at, visible_at, owner, lease_expires_at, null::timestamptz as finished_at, null::text as result, last_error";
    private const string FinishedColumns = "id, queue, state, payload, priority, attempt, max_attempts, enqueued_at, visible_at, owner, null::timestamptz as lease_expires_at, finished_at, result, last_error";

    public string Enqueue => S("""
        insert into {schema}.jobs (queue, state, payload, priority, position, enqueued_at, visible_at, max_attempts)
        select u.queue, 0, u.payload, u.priority, u.position, @now, u.visible_at, u.max_attempts
        from unnest(@queues, @payloads, @priorities, @positions, @visible, @maxAttempts) with ordinality as u(queue, payload, priority, position, visible_at, max_attempts, ord)
        order by u.ord
        returning id
        """);
    public string Notify => "select pg_notify(@channel, @queue)";

    /// <summary>One notification per queue of @queues (a send's transaction: its queues, each once).</summary>
    public string NotifyQueues => "select pg_notify(@channel, q) from unnest(@queues) as q";

    /// <summary>@count fresh job ids, ascending: a bulk send takes its ids first, then copies its rows in with them.</summary>
    public string ReserveJobIds => S("select nextval('{schema}.jobs_id_seq') from generate_series(1, @count)");

    /// <summary>
    /// The binary COPY of a bulk send, ids included (COPY writes an identity column's given values, as INSERT's
    /// OVERRIDING SYSTEM VALUE does). The columns in the order <see cref="PostgresJobStore"/> writes them.
    /// </summary>
    public string CopyJobs => S("copy {schema}.jobs (id, queue, state, payload, priority, position, enqueued_at, visible_at, max_attempts) from stdin (format binary)");

    /// <summary>
    /// Claims up to @max visible jobs. The update finds the rows it locked by primary key (<c>j.id = any(array(...))</c>):
    /// joined to them instead, the planner hashed the whole hot table, so a claim of 500 read every waiting job.
    /// <para>
    /// A monitored claim commits without waiting for its WAL to reach disk (<c>synchronous_commit = off</c> for its own
    /// transaction only): the flush was a claim's longest wait, and it sat between a send and the job's start. A claim lost
    /// in a server crash leaves its jobs waiting, to run again (at least once, as after any lost claim; its attempt is
    /// not counted); a completion still waits for its flush, which carries every claim committed before it. An
    /// unmonitored claim (no lease) keeps the server's setting: its job must never run twice, so its claim is durable
    /// before the handler starts.
    /// </para>
    /// <para>
    /// Each job's lease token is the first 128 bits of SHA-256 over @tokenKey, a fresh secure random key per claim, and
    /// the job's id: unguessable without the key, which never leaves the claimer, and different for every job and every
    /// claim. <c>gen_random_uuid()</c> per row cost 3–4 µs of the server's CPU per job, a fifth of the claim.
    /// </para>
    /// </summary>
    public string Claim => S($$"""
        with flush_later as materialized (
            select set_config('synchronous_commit', case when @leaseUs::bigint is null then current_setting('synchronous_commit') else 'off' end, true)),
        next as (
            select id from {schema}.jobs
            where queue = @queue and state = 0 and visible_at <= @now
            order by priority desc, position, id
            limit @max
            for update skip locked)
        update {schema}.jobs j
        set state = 1, attempt = j.attempt + 1, lease_token = left(encode(sha256((@tokenKey || j.id)::bytea), 'hex'), 32)::uuid, lease_duration_us = @leaseUs,
            lease_expires_at = @expires, owner = @owner, claim_id = @claim
        where j.id = any(array(select id from next)) and exists (select from flush_later)
        returning {{ClaimedColumns}}
        """);

    /// <summary>The columns of a claimed job, as <see cref="Claim"/> and <see cref="ResumeClaim"/> return them.</summary>
    private const string ClaimedColumns = "j.id, j.payload, j.priority, j.position, j.attempt, j.max_attempts, j.lease_token, j.lease_expires_at, j.enqueued_at";

    /// <summary>
    /// The jobs claim @claim still holds, for a claimer whose claim failed without an answer: up to @max of them, in
    /// claim order, keep their lease token and attempt and get a lease from now; any beyond @max are given back
    /// uncounted. Each row also carries how many were given back, so the caller can announce them.
    /// </summary>
    public string ResumeClaim => S($$"""
        with held as (
            select id, priority, position from {schema}.jobs
            where queue = @queue and state = 1 and claim_id = @claim
            for update),
        ranked as (
            select id, row_number() over (order by priority desc, position, id) as rank from held),
        kept as (
            update {schema}.jobs j set lease_duration_us = @leaseUs, lease_expires_at = @expires, owner = @owner
            from ranked where j.id = ranked.id and ranked.rank <= @max
            returning {{ClaimedColumns}}),
        given_back as (
            update {schema}.jobs j set state = 0, attempt = j.attempt - 1, lease_token = null, lease_duration_us = null,
                lease_expires_at = null, owner = null, claim_id = null
            from ranked where j.id = ranked.id and ranked.rank > @max
            returning j.id)
        select kept.*, (select count(*)::int from given_back) from kept
        """);

    public string Renew => S("""
        update {schema}.jobs set lease_expires_at = @expires
        where id = @id and queue = @queue and state = 1 and lease_token = @token and lease_expires_at is not null
        """);

    /// <summary>
    /// Extends a batch of leases (a silo's held jobs of one lease length, once per tick) to @expires; returns the ids it extended. The rows
    /// are found by primary key, and a lease token names one attempt of one job, so "id among @ids and token among
    /// @tokens" is the pair's match without a join (joined to the input, the planner rescanned it once per row).
    /// </summary>
    public string RenewBatch => S("""
        update {schema}.jobs j set lease_expires_at = @expires
        where j.id = any(@ids) and j.state = 1 and j.lease_expires_at is not null and j.lease_token = any(@tokens) and j.queue = any(@queues)
        returning j.id
        """);

    /// <summary>
    /// Completes a batch of one queue's jobs: moves the held ones to the archive; returns the ids and tokens it completed.
    /// The rows are found by primary key, and a lease token names one attempt of one job (a fresh random value per
    /// claim), so "id among @ids and token among @tokens" is each pair's match without a join: joined to the input, the
    /// planner rescanned it once per job or hashed the whole hot table. A job changed meanwhile (its lease expired and
    /// another claim took it) has another token and is left alone. The input has each (id, token) pair once, so the
    /// archive insert's join matches each moved row once.
    /// </summary>
    public string CompleteBatch => S("""
        with moved as (
            delete from {schema}.jobs j
            where j.id = any(@ids) and j.queue = @queue and j.state = 1 and j.lease_token = any(@tokens)
            returning j.*),
        archived as (
            insert into {schema}.finished_jobs (id, queue, state, payload, priority, enqueued_at, visible_at, attempt, max_attempts, owner, finished_at, result, last_error, settled_by)
            select m.id, m.queue, 2, m.payload, m.priority, m.enqueued_at, m.visible_at, m.attempt, m.max_attempts, m.owner, i.finished_at, i.result, m.last_error, m.lease_token
            from moved m join unnest(@ids, @tokens, @results, @finished) as i(id, token, result, finished_at) on i.id = m.id and i.token = m.lease_token)
        select id, lease_token from moved
        """);

    /// <summary>
    /// A job's state, the token of the attempt that settled it last and its visible-at time: to tell a lost lease from an
    /// unknown job, and a settle retried after it committed from one by a stale holder (see <see cref="JobStanding"/>).
    /// </summary>
    public string ReadStanding => S("""
        select state, lease_token, visible_at from {schema}.jobs where id = @id and queue = @queue
        union all
        select state, settled_by, visible_at from {schema}.finished_jobs where id = @id and queue = @queue
        """);

    public string LockHeldJob => S("select attempt, max_attempts from {schema}.jobs where id = @id and queue = @queue and state = 1 and lease_token = @token for update");

    /// <summary>Schedules a failed job's retry. It keeps the failed attempt's lease token, so a repeated fail by that attempt gets the same answer.</summary>
    public string RetryJob => S("""
        update {schema}.jobs set state = 0, visible_at = @visible, position = @position, last_error = @error,
            priority = greatest(priority::bigint - @drop, @min_priority)::int,
            lease_duration_us = null, lease_expires_at = null, owner = null, claim_id = null
        where id = @id
        """);

    public string DeadLetterJob => S("""
        with moved as (delete from {schema}.jobs where id = @id returning *)
        insert into {schema}.finished_jobs (id, queue, state, payload, priority, enqueued_at, visible_at, attempt, max_attempts, owner, finished_at, result, last_error, settled_by)
        select id, queue, 3, payload, priority, enqueued_at, visible_at, attempt, max_attempts, owner, @now, null, @error, lease_token from moved
        """);

    public string Release => S("""
        update {schema}.jobs set state = 0, attempt = attempt - 1, lease_token = null, lease_duration_us = null, lease_expires_at = null, owner = null,
            claim_id = null
        where id = @id and queue = @queue and state = 1 and lease_token = @token
        """);

    /// <summary>Dead-letters the lost jobs that were on their last attempt, then returns the rest; @reason explains the loss.</summary>
    private const string RecoverLost = """
        with lost as (
            select id from {schema}.jobs where {filter} for update skip locked),
        dead as (
            delete from {schema}.jobs j using lost where j.id = lost.id and j.attempt >= j.max_attempts returning j.*),
        archived as (
            insert into {schema}.finished_jobs (id, queue, state, payload, priority, enqueued_at, visible_at, attempt, max_attempts, owner, finished_at, result, last_error)
            select id, queue, 3, payload, priority, enqueued_at, visible_at, attempt, max_attempts, owner, @now, null,
                   'Attempt ' || attempt || ' of ' || max_attempts || ' was lost: ' || @reason || '.'
            from dead),
        returned as (
            update {schema}.jobs j set state = 0, lease_token = null, lease_duration_us = null, lease_expires_at = null, owner = null, claim_id = null,
                   last_error = 'Attempt ' || j.attempt || ' of ' || j.max_attempts || ' was lost: ' || @reason || '.'
            from lost where j.id = lost.id and j.attempt < j.max_attempts
            returning j.queue)
        select queue, count(*)::int from (select queue from returned union all select queue from dead) q group by queue
        """;

    public string RecoverExpired => S(RecoverLost.Replace("{filter}", "queue = @queue and state = 1 and lease_expires_at <= @now", StringComparison.Ordinal));
    public string RecoverOwner => S(RecoverLost.Replace("{filter}",
        "owner = @owner and state = 1 and lease_expires_at is not null",
        StringComparison.Ordinal));

    public string ExpireUnmonitored => S(RecoverLost.Replace("{filter}",
        "queue = @queue and owner = @owner and state = 1 and lease_expires_at is null",
        StringComparison.Ordinal));

    /// <summary>A page of a queue's waiting or running jobs by id; @visibleNow tells available (true) from scheduled jobs.</summary>
    public string ListJobs => S($$"""
        select {{JobColumns}} from {schema}.jobs
        where queue = @queue and state = @state and id > @after and (state = 1 or (visible_at <= @now) = @visibleNow)
        order by id
        limit @limit
        """);

    /// <summary>A page of a queue's completed or dead-lettered jobs by id.</summary>
    public string ListFinishedJobs => S($$"""
        select {{FinishedColumns}} from {schema}.finished_jobs
        where queue = @queue and state = @state and id > @after
        order by id
        limit @limit
        """);

    public string ReadJob => S($$"""
        select {{JobColumns}} from {schema}.jobs where id = @id and queue = @queue
        union all
        select {{FinishedColumns}} from {schema}.finished_jobs where id = @id and queue = @queue
        """);

    public string CountJobs => S("""
        select
            (select count(*) from {schema}.jobs where queue = @queue and state = 0 and visible_at <= @now),
            (select count(*) from {schema}.jobs where queue = @queue and state = 0 and visible_at > @now),
            (select count(*) from {schema}.jobs where queue = @queue and state = 1),
            (select count(*) from {schema}.finished_jobs where queue = @queue and state = 2),
            (select count(*) from {schema}.finished_jobs where queue = @queue and state = 3)
        """);

    public string DeadLetters => S($$"""select {{FinishedColumns}} from {schema}.finished_jobs where queue = @queue and state = 3 order by finished_at, id limit @limit""");

    public string Requeue => S("""
        with moved as (delete from {schema}.finished_jobs where id = @id and queue = @queue and state = 3 returning *)
        insert into {schema}.jobs (id, queue, state, payload, priority, position, enqueued_at, visible_at, attempt, max_attempts, last_error)
        overriding system value
        select id, queue, 0, payload, priority, @position, enqueued_at, @now, 0, max_attempts, last_error from moved
        """);

    public string PurgeAllDeadLetters => S("delete from {schema}.finished_jobs where queue = @queue and state = 3");
    public string PurgeDeadLetters => S("delete from {schema}.finished_jobs where id = any(@ids) and queue = @queue and state = 3");

    /// <summary>
    /// The earliest visible-at time of the queue's waiting jobs, found through the claim index alone: a waiter asks it
    /// each time it goes to sleep, and <c>min(visible_at)</c> over the queue read every waiting job (a parallel scan of
    /// the whole hot table under a backlog, each of its workers a new server process). A job's position is its
    /// visible-at time, negated for a front (expedited) job (<see cref="JobRules.Position"/>), so within one priority the
    /// earliest is the first back-of-queue entry or the last front entry; the priorities are walked one index probe each.
    /// </summary>
    public string NextVisible => S("""
        with recursive priorities as (
            select (select priority from {schema}.jobs where queue = @queue and state = 0 order by priority desc limit 1) as p
            union all
            select (select priority from {schema}.jobs where queue = @queue and state = 0 and priority < priorities.p order by priority desc limit 1)
            from priorities where priorities.p is not null)
        select min(least(
            (select visible_at from {schema}.jobs where queue = @queue and state = 0 and priority = priorities.p and position >= 0 order by position, id limit 1),
            (select visible_at from {schema}.jobs where queue = @queue and state = 0 and priority = priorities.p and position < 0 order by position desc, id desc limit 1)))
        from priorities where priorities.p is not null
        """);

    public string PruneFinished => S("""
        delete from {schema}.finished_jobs
        where queue = @queue and ((state = 2 and finished_at < @completedBefore) or (state = 3 and finished_at < @deadBefore))
        """);

    // ---- event logs ----

    /// <summary>
    /// Appends @payloads to @log: the head row's upsert takes its lock until commit, so concurrent appenders get
    /// consecutive ranges and commit in sequence order. One statement, so the entries and the head move together.
    /// </summary>
    public string AppendToLog => S("""
        with head as (
            insert into {schema}.event_log_heads as h (log, head) values (@log, cardinality(@payloads))
            on conflict (log) do update set head = h.head + excluded.head
            returning head)
        insert into {schema}.event_log_entries (log, sequence, payload, appended_at)
        select @log, head.head - cardinality(@payloads) + u.ord, u.payload, @now
        from head, unnest(@payloads) with ordinality as u(payload, ord)
        order by u.ord
        returning sequence
        """);

    /// <summary>
    /// Takes @log's head row lock (creating the row at head 0 for a new log) and changes nothing: the first statement of
    /// a keyed append, so that <see cref="AppendOnceToLog"/>, the next statement, reads the keys of every appender
    /// that held the lock before it (under READ COMMITTED a statement sees what committed before it began, and one
    /// statement that waited for the lock would still read the keys of before the wait).
    /// </summary>
    public string LockLogHead => S("""
        insert into {schema}.event_log_heads as h (log, head) values (@log, 0)
        on conflict (log) do update set head = h.head where false
        """);

    /// <summary>
    /// Appends the entries of @keys/@payloads whose key @log does not hold yet, under the head row lock that
    /// <see cref="LockLogHead"/> took: the first entry of each new key gets the next sequence, in input order, and its
    /// key is recorded. Returns one row per input entry, in order: its key's sequence (new or earlier) and whether this
    /// entry added it. NOTIFYs @signal on @channel only when something was added (delivered at commit).
    /// </summary>
    public string AppendOnceToLog => S("""
        with input as (
            select u.key, u.payload, u.ord from unnest(@keys::text[], @payloads::text[]) with ordinality as u(key, payload, ord)),
        first_of_key as (
            select distinct on (key) key, payload, ord from input order by key, ord),
        earlier as (
            select k.key, k.sequence from {schema}.event_log_keys k
            where k.log = @log and k.key = any(@keys::text[])),
        fresh as (
            select f.key, f.payload, f.ord, row_number() over (order by f.ord) as rank
            from first_of_key f
            where not exists (select 1 from earlier e where e.key = f.key)),
        counted as (
            select count(*) as added from fresh),
        head as (
            update {schema}.event_log_heads set head = head + (select added from counted)
            where log = @log
            returning head - (select added from counted) as before),
        new_entries as (
            insert into {schema}.event_log_entries (log, sequence, payload, appended_at)
            select @log, head.before + fresh.rank, fresh.payload, @now from head, fresh),
        new_keys as (
            insert into {schema}.event_log_keys (log, key, sequence)
            select @log, fresh.key, head.before + fresh.rank from head, fresh),
        signalled as (
            select pg_notify(@channel, @signal) from counted where added > 0)
        select coalesce(e.sequence, head.before + f.rank), coalesce(f.ord = i.ord, false)
        from input i
        cross join head
        left join earlier e on e.key = i.key
        left join fresh f on f.key = i.key
        left join signalled on true -- referenced so that it runs
        order by i.ord
        """);

    /// <summary>
    /// A page of @log after @after, with its head and oldest kept sequence, in one statement (one snapshot). There is
    /// always one row; its entry columns are null when the page is empty.
    /// </summary>
    public string ReadLog => S("""
        select coalesce((select head from {schema}.event_log_heads where log = @log), 0),
               (select min(sequence) from {schema}.event_log_entries where log = @log),
               e.sequence, e.payload, e.appended_at
        from (select 1) as one
        left join lateral (
            select sequence, payload, appended_at from {schema}.event_log_entries
            where log = @log and sequence > @after
            order by sequence
            limit @max) as e on true
        order by e.sequence
        """);

    /// <summary>
    /// Trims the prefix of @log appended before @before, stopping at the first newer entry and never taking the head,
    /// so the entries kept stay one unbroken run. The first newer entry is found walking the primary key from the
    /// oldest, so a trim reads little more than what it deletes.
    /// </summary>
    public string TrimLog => S("""
        delete from {schema}.event_log_entries
        where log = @log
          and sequence < coalesce(
                (select sequence from {schema}.event_log_entries
                 where log = @log and appended_at >= @before
                 order by sequence limit 1),
                (select head from {schema}.event_log_heads where log = @log))
        """);

    // ---- pipeline results ----

    /// <summary>Merges @data's top-level keys into the pipeline's document: one statement, atomic without a lock.</summary>
    public string SavePipelineResult => S("""
        insert into {schema}.pipeline_results as r (pipeline_id, data, updated_at) values (@id, @data, @now)
        on conflict (pipeline_id) do update set data = r.data || excluded.data, updated_at = excluded.updated_at
        """);

    public string ReadPipelineResults => S("select data::text from {schema}.pipeline_results where pipeline_id = @id");
}
