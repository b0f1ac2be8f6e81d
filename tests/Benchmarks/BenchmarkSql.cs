namespace Orleans.Jobs.Benchmarks;

/// <summary>
/// Every SQL statement of the benchmarks, in one place. The job store's own SQL stays in the store
/// (src/Storage/PostgreSql); these only set up, seed, inspect and clean the benchmark's databases and schemas.
/// Identifiers come from the benchmark's own constants, never from input.
/// </summary>
public static partial class BenchmarkSql
{
    public const string ServerVersion = "show server_version";

    public const string Now = "select clock_timestamp()";

    /// <summary>The next transaction id (read without taking one) and the WAL position in bytes: <see cref="WorkCounters"/>.</summary>
    public const string ServerWork = "select pg_snapshot_xmax(pg_current_snapshot())::text::bigint, (pg_current_wal_lsn() - '0/0'::pg_lsn)::bigint";

    public static string DatabaseExists(string database) => $"select exists (select 1 from pg_database where datname = '{database}')";

    public static string CreateDatabase(string database) => $"create database {database}";

    public static string DropSchema(string schema) => $"drop schema if exists {schema} cascade";

    /// <summary>Fresh statistics on the hot table after a bulk insert (BENCHMARKING.md: not left to autovacuum's timing).</summary>
    public static string AnalyzeJobs(string schema) => $"analyze {schema}.jobs";

    public static string CountArchive(string schema) => $"select count(*) from {schema}.finished_jobs";

    /// <summary>Fills the archive with finished jobs of <paramref name="queue"/> (ids below zero never clash with real ones).</summary>
    public static string SeedArchive(string schema, string queue, int count) => $"""
        insert into {schema}.finished_jobs (id, queue, state, payload, priority, enqueued_at, visible_at, attempt, max_attempts, owner, finished_at, result, last_error)
        select -g, '{queue}', case when g % 100 = 0 then 3 else 2 end, 'history ' || g, 0, now() - interval '1 hour', now() - interval '1 hour', 1, 1, 'silo-x', now() - interval '30 minutes', 'ok', null
        from generate_series(1, {count}) g
        """;

    public static string VacuumArchive(string schema) => $"vacuum analyze {schema}.finished_jobs";

    /// <summary>The table tests/ClusterProcess's silo handler writes one row to per execution it starts.</summary>
    public static string CreateExecutions(string schema) =>
        $"create table {schema}.proof_executions (job_id bigint not null, silo_id text not null, attempt int not null, started_at timestamptz not null)";

    public static string CountExecutions(string schema) => $"select count(*) from {schema}.proof_executions";

    /// <summary>Jobs running (state 1) under a claim owner.</summary>
    /// <summary>Whether a queue still has a job in the hot table (a finished job leaves it): a cheap poll for the end of a drain.</summary>
    public static string QueueHasJobs(string schema, string queue) => $"select exists (select 1 from {schema}.jobs where queue = '{queue}')";

    public static string CountRunningOf(string schema, string owner) => $"select count(*) from {schema}.jobs where state = 1 and owner = '{owner}'";

    /// <summary>First start, last start and count of the reruns, on other silos, of the jobs <paramref name="owner"/> started.</summary>
    public static string RerunsOf(string schema, string owner) => $"""
        select min(e.started_at), max(e.started_at), count(*) from {schema}.proof_executions e
        where e.silo_id <> '{owner}' and e.job_id in (select job_id from {schema}.proof_executions where silo_id = '{owner}')
        """;

    /// <summary>Rows inserted, updated and deleted per table of <paramref name="schema"/> (the server's cumulative statistics).</summary>
    public static string TableRowWrites(string schema) =>
        $"select relname, n_tup_ins, n_tup_upd, n_tup_del from pg_stat_user_tables where schemaname = '{schema}' and n_tup_ins + n_tup_upd + n_tup_del > 0";

    /// <summary>Client connections to this database other than the caller's.</summary>
    public const string OtherClientConnections =
        "select count(*) from pg_stat_activity where datname = current_database() and backend_type = 'client backend' and pid <> pg_backend_pid()";

    /// <summary>Proof pipelines (tests/ClusterProcess/ProofPipeline.cs) whose stored results add up: b = 2a and c = a + b.</summary>
    public static string CountProofResults(string schema) => $"""
        select count(*) from {schema}.pipeline_results
        where (data->>'b')::bigint = 2 * (data->>'a')::bigint and (data->>'c')::bigint = (data->>'a')::bigint + (data->>'b')::bigint
        """;

    /// <summary>Parallel benchmark pipelines (<see cref="BenchmarkPipelines.Parallel"/>) whose three steps all saved their result.</summary>
    public static string CountParallelResults(string schema) => $"select count(*) from {schema}.pipeline_results where data ?& array['left', 'middle', 'right']";

    /// <summary>The pgbench ceiling's table: <paramref name="rows"/> claimable rows, indexed as a job table is.</summary>
    public static readonly string[] PgbenchSetup =
    [
        "drop table if exists pgb_jobs",
        "create table pgb_jobs (id bigint generated always as identity primary key, state int not null default 0, payload text not null)",
    ];

    public static string PgbenchFill(int rows) => $"insert into pgb_jobs (payload) select '{{}}' from generate_series(1, {rows})";

    public static readonly string[] PgbenchIndex =
    [
        "create index pgb_jobs_claim on pgb_jobs (id) where state = 0",
        "vacuum analyze pgb_jobs",
    ];

    /// <summary>The pgbench script: one SKIP LOCKED claim of <paramref name="rows"/> rows per transaction.</summary>
    public static string PgbenchClaim(int rows) => $"""
        with next as (select id from pgb_jobs where state = 0 order by id limit {rows} for update skip locked)
        update pgb_jobs set state = 1 from next where pgb_jobs.id = next.id;
        """;

    public const string PgbenchClaimed = "select count(*) from pgb_jobs where state = 1";

    public const string PgbenchDrop = "drop table pgb_jobs";

    /// <summary>Chaos run: every start of a job of the run (tests/ClusterProcess's silo handler writes one per execution).</summary>
    public static string ChaosExecutions(string schema) => $"select job_id, started_at from {schema}.proof_executions";

    /// <summary>Chaos run: every job the archive holds, with its state (2 completed, 3 dead-lettered) and when it ended.</summary>
    public static string ChaosFinished(string schema, string queue) => $"select id, state, finished_at from {schema}.finished_jobs where queue = '{queue}'";

    /// <summary>Chaos run: jobs not finished yet.</summary>
    public static string ChaosUnfinished(string schema, string queue) => $"select count(*) from {schema}.jobs where queue = '{queue}'";

    /// <summary>Chaos run: ends every connection the silos hold (their application name), as a failover or a DBA would.</summary>
    public static string TerminateConnectionsOf(string application) =>
        $"select count(pg_terminate_backend(pid)) from pg_stat_activity where datname = current_database() and application_name = '{application}'";

    /// <summary>Chaos run: the client ports of the silos' LISTEN connections (a LISTEN is the last statement they ran).</summary>
    public static string ListenerPortsOf(string application) =>
        $"select client_port from pg_stat_activity where datname = current_database() and application_name = '{application}' and query ilike 'listen%' order by backend_start";

    /// <summary>Chaos run: connections the silos hold.</summary>
    public static string ConnectionsOf(string application) =>
        $"select count(*) from pg_stat_activity where datname = current_database() and application_name = '{application}'";

    /// <summary>Chaos run: blocks every statement on the job table until the transaction ends (fills the silos' pools).</summary>
    public static string LockJobs(string schema) => $"lock table {schema}.jobs in access exclusive mode";
}
