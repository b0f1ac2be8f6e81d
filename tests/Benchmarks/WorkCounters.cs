using System.Diagnostics;

namespace Orleans.Jobs.Benchmarks;

/// <summary>
/// What a run cost, as counters read before and after it: transaction ids the server handed out (one per write
/// transaction, i.e. per commit that waits for a WAL flush), WAL bytes it wrote, and this process's CPU time. The
/// server's counters are server-wide, so they hold only while nothing else runs on the benchmark's server.
/// </summary>
public readonly record struct WorkCounters(long WriteTransactions, long WalBytes, double CpuSeconds)
{
    public static async Task<WorkCounters> ReadAsync(BenchmarkDatabase server)
    {
        var (transactions, wal) = await server.RowAsync(BenchmarkSql.ServerWork, r => (r.GetInt64(0), r.GetInt64(1)));
        return new WorkCounters(transactions, wal, ProcessCpuSeconds());
    }

    public static double ProcessCpuSeconds()
    {
        using var process = Process.GetCurrentProcess();
        return process.TotalProcessorTime.TotalSeconds;
    }

    public static WorkCounters operator -(WorkCounters after, WorkCounters before) =>
        new(after.WriteTransactions - before.WriteTransactions, after.WalBytes - before.WalBytes, after.CpuSeconds - before.CpuSeconds);
}
