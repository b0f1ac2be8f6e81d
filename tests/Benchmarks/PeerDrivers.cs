using System.Diagnostics;
using System.Text.Json;

namespace Orleans.Jobs.Benchmarks;

/// <summary>Runs the Node.js drivers in peers/ (see peers/CONTRACT.md) one at a time and reads their JSON line.</summary>
public sealed class PeerDrivers(string peersDirectory, BenchmarkDatabase server, TextWriter log)
{
    public static readonly (string System, string Driver, string Database)[] Systems =
    [
        ("pg-boss", "pgboss.mjs", "bench_pgboss"),
        ("graphile-worker", "graphile.mjs", "bench_graphile"),
        ("bullmq", "bullmq.mjs", "bench_bullmq"),
    ];

    public async Task<WorkloadResult> RunAsync(string system, string workload, string settings, int? jobs, int concurrency, TimeSpan timeout)
    {
        var (_, driver, database) = Systems.Single(s => s.System == system);
        var path = Path.Combine(peersDirectory, driver);
        if (!File.Exists(path)) return Failed($"driver {driver} not found");

        await server.EnsureDatabaseAsync(database);
        var start = new ProcessStartInfo("node") { WorkingDirectory = peersDirectory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { driver, workload, "--connection", server.Url(database), "--settings", settings, "--concurrency", concurrency.ToString() }
                     .Concat(jobs is { } n ? ["--jobs", n.ToString()] : []))
            start.ArgumentList.Add(argument);

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var deadline = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            return Failed($"no result within {timeout.TotalSeconds:0} s");
        }

        var line = (await stdout).Split('\n', StringSplitOptions.RemoveEmptyEntries).LastOrDefault(l => l.TrimStart().StartsWith('{'));
        if (process.ExitCode != 0 || line is null)
            return Failed($"exit {process.ExitCode}: {(await stderr).Split('\n', StringSplitOptions.RemoveEmptyEntries).LastOrDefault()}");

        var result = JsonSerializer.Deserialize<WorkloadResult>(line, JsonSerializerOptions.Web)!;
        log.WriteLine($"  {system} {workload} ({settings}): {line}");
        return result;

        WorkloadResult Failed(string why)
        {
            log.WriteLine($"  {system} {workload} ({settings}) FAILED: {why}");
            return new WorkloadResult { System = system, Workload = workload, Settings = settings, Error = why };
        }
    }
}
