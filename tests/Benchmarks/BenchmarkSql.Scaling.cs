namespace Orleans.Jobs.Benchmarks;

/// <summary>The scaling section's statements (<see cref="ScalingBenchmark"/>): how far a drain has got, read cheaply.</summary>
public static partial class BenchmarkSql
{
    /// <summary>Whether any job of <paramref name="queue"/> is still in the hot table (waiting or running).</summary>
    public static string AnyJobLeft(string schema, string queue) => $"select exists (select 1 from {schema}.jobs where queue = '{queue}')";

    /// <summary>The smallest id of <paramref name="queue"/>'s jobs in the hot table: the first of a backlog just added.</summary>
    public static string FirstJobId(string schema, string queue) => $"select min(id) from {schema}.jobs where queue = '{queue}'";

    /// <summary>
    /// The highest id in the archive, by its primary key: jobs are claimed in id order, so with a backlog's first id it
    /// tells how many are done, within the jobs running at once, without counting a million rows every second.
    /// </summary>
    public static string HighestFinishedId(string schema) => $"select coalesce(max(id), 0) from {schema}.finished_jobs";

    /// <summary>When the last job of <paramref name="queue"/> was recorded complete.</summary>
    public static string LastFinishedAt(string schema, string queue) => $"select max(finished_at) from {schema}.finished_jobs where queue = '{queue}' and state = 2";

    /// <summary>
    /// Client backends of this database (the caller left out) that are running a statement, and those of them waiting on
    /// a lock of a database object: what a transaction that ran NOTIFY takes at commit, one transaction at a time.
    /// </summary>
    public const string ActiveAndNotifyLockWaits = """
        select count(*) filter (where state = 'active'), count(*) filter (where wait_event_type = 'Lock' and wait_event = 'object')
        from pg_stat_activity where datname = current_database() and backend_type = 'client backend' and pid <> pg_backend_pid()
        """;

    /// <summary>Jobs of <paramref name="queue"/> recorded complete.</summary>
    public static string CountCompleted(string schema, string queue) => $"select count(*) from {schema}.finished_jobs where queue = '{queue}' and state = 2";
}
