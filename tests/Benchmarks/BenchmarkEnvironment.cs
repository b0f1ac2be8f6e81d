using System.Globalization;
using System.Runtime.InteropServices;

namespace Orleans.Jobs.Benchmarks;

/// <summary>What the figures were measured on.</summary>
public sealed record BenchmarkEnvironment(string Date, string Cpu, int Cores, string Os, string DotNet, string PostgreSql)
{
    public static async Task<BenchmarkEnvironment> ReadAsync(string connectionString)
    {
        var cpu = File.Exists("/proc/cpuinfo")
            ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "unknown"
            : "unknown";
        var postgres = await new BenchmarkDatabase(connectionString).ScalarAsync<string>(BenchmarkSql.ServerVersion);
        return new BenchmarkEnvironment(DateTimeOffset.UtcNow.ToString("yyyy-MM-dd HH:mm 'UTC'"), cpu, Environment.ProcessorCount,
            RuntimeInformation.OSDescription, RuntimeInformation.FrameworkDescription, postgres);
    }

    /// <summary>The machine's one-minute load average (/proc/loadavg), or null where there is none: how shared the machine was.</summary>
    public static double? LoadAverage() =>
        File.Exists("/proc/loadavg") && double.TryParse(File.ReadAllText("/proc/loadavg").Split(' ')[0], CultureInfo.InvariantCulture, out var load) ? load : null;
}
