using Npgsql;

namespace Orleans.Jobs.Benchmarks.Chaos;

/// <summary>
/// One kind of fault: <see cref="InjectAsync"/> does it and returns once the fault is over (a killed process is over
/// at once; a server restart when the server answers again; a lock when it is released), with what it saw;
/// <see cref="WatchAsync"/>, when there is one, watches during the observation for how the system copes;
/// <see cref="HealAsync"/> puts back what the fault took that the system is not expected to put back itself.
/// </summary>
public sealed record ChaosFault(string Name, string Description, Func<ChaosCluster, Task<string?>> InjectAsync, Func<ChaosCluster, Task> HealAsync)
{
    public Func<ChaosCluster, TimeSpan, Task<string?>>? WatchAsync { get; init; }
}

/// <summary>The seven faults of issue 11, in the order they run.</summary>
public static class ChaosFaults
{
    /// <summary>How long the job table stays locked in the pool-exhaustion fault: longer than Npgsql's 15 s wait for a pooled connection.</summary>
    public static readonly TimeSpan PoolLock = TimeSpan.FromSeconds(20);

    public static readonly IReadOnlyList<ChaosFault> All =
    [
        new("kill-silo", "SIGKILL of one silo process (restarted after the observation)",
            cluster => { cluster.KillSilo(0); return Task.FromResult<string?>(null); },
            cluster => cluster.HealAsync()),
        new("kill-two-silos", "SIGKILL of two silo processes, one restarted at once (the other after the observation)",
            async cluster =>
            {
                cluster.KillSilo(0);
                cluster.KillSilo(1);
                await cluster.StartSiloAsync(1);
                return null;
            },
            cluster => cluster.HealAsync()),
        new("postgres-restart", "PostgreSQL `pg_ctl restart -m immediate` (a crash and recovery of the server)",
            async cluster =>
            {
                await cluster.Servers.RestartPostgresImmediatelyAsync();
                Npgsql.NpgsqlConnection.ClearAllPools(); // the run's own pooled connections died with the server
                return null;
            },
            _ => Task.CompletedTask),
        new("terminate-connections", "`pg_terminate_backend` of every connection the silos hold",
            async cluster =>
            {
                var ended = await cluster.Database.ScalarAsync<long>(BenchmarkSql.TerminateConnectionsOf(ChaosCluster.SiloApplication));
                return $"{ended} connections ended";
            },
            _ => Task.CompletedTask),
        new("redis-restart", "Redis (the membership store, no persistence) stopped and started again: the membership table is empty afterwards",
            async cluster =>
            {
                await cluster.Servers.RestartRedisAsync();
                return null;
            },
            _ => Task.CompletedTask),
        new("listen-half-open", "one silo's LISTEN connection half-open: the proxy stops forwarding it either way and closes nothing",
            HalfOpenListenerAsync,
            _ => Task.CompletedTask) { WatchAsync = ListenerReplacedAsync },
        new("pool-exhaustion", $"the job table locked for {PoolLock.TotalSeconds:0} s: every silo statement waits, the silos' connection pools fill and further waits time out",
            ExhaustPoolsAsync,
            _ => Task.CompletedTask),
    ];

    private static async Task<string?> HalfOpenListenerAsync(ChaosCluster cluster)
    {
        var ports = await cluster.Database.RowsAsync(BenchmarkSql.ListenerPortsOf(ChaosCluster.SiloApplication), r => r.GetInt32(0));
        if (ports.Count == 0) return "no LISTEN connection was found to half-open";
        if (!cluster.Proxy.Freeze(ports[0])) return $"the LISTEN connection on port {ports[0]} was not one of the proxy's";
        cluster.FrozenListener = (ports[0], ports.Count);
        return $"froze the LISTEN connection on client port {ports[0]} (one of {ports.Count})";
    }

    /// <summary>Whether the silo notices: a new LISTEN connection (another client port) replaces the dead one.</summary>
    private static async Task<string?> ListenerReplacedAsync(ChaosCluster cluster, TimeSpan within)
    {
        if (cluster.FrozenListener is not var (frozen, listeners)) return null;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (clock.Elapsed < within)
        {
            var now = await cluster.Database.RowsAsync(BenchmarkSql.ListenerPortsOf(ChaosCluster.SiloApplication), r => r.GetInt32(0));
            if (now.Count(p => p != frozen) >= listeners)
                return $"the silo replaced its LISTEN connection {clock.Elapsed.TotalSeconds:0.0} s after it was frozen";
            await Task.Delay(250);
        }

        return $"the silo did not replace its LISTEN connection within {within.TotalSeconds:0} s (its workers polled meanwhile)";
    }

    private static async Task<string?> ExhaustPoolsAsync(ChaosCluster cluster)
    {
        await using var connection = new NpgsqlConnection(cluster.Servers.PostgresConnection);
        await connection.OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await using (var lockJobs = new NpgsqlCommand(BenchmarkSql.LockJobs(ChaosCluster.Schema), connection, transaction))
            await lockJobs.ExecuteNonQueryAsync();
        var peak = 0L;
        var until = DateTime.UtcNow + PoolLock;
        while (DateTime.UtcNow < until)
        {
            peak = Math.Max(peak, await cluster.Database.ScalarAsync<long>(BenchmarkSql.ConnectionsOf(ChaosCluster.SiloApplication)));
            await Task.Delay(500);
        }

        await transaction.CommitAsync();
        return $"the silos held up to {peak} connections while the table was locked";
    }
}
