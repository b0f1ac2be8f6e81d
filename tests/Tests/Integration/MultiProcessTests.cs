using System.Diagnostics;
using System.Text.Json;
using Npgsql;
using Orleans.Jobs.Runtime.Jobs;
using Orleans.Jobs.Runtime.Storage.PostgreSql;

namespace Orleans.Jobs.Tests.Integration;

/// <summary>
/// The proof that matters: three silo processes and a client process on one PostgreSQL, one silo SIGKILLed in the
/// middle of 10,000 monitored jobs. Every job completes, none is lost, and only jobs in flight on the dead silo
/// run twice. Silos use the default membership and lease settings.
/// </summary>
public sealed class MultiProcessTests : PostgresSchemaTest
{
    private const int JobCount = 10_000;
    private const string Queue = "proof";
    private const string ClusterKey = "dev-cluster-key";
    private readonly List<Process> _processes = [];

    public override async ValueTask DisposeAsync()
    {
        foreach (var process in _processes.Where(p => !p.HasExited))
        {
            process.StandardInput.Close(); // asks the silo to stop gracefully
            if (!process.WaitForExit(TimeSpan.FromSeconds(30))) process.Kill();
        }

        foreach (var process in _processes) process.Dispose();
        await base.DisposeAsync();
    }

    [Fact]
    public async Task Killing_a_silo_process_mid_run_loses_no_job_and_redoes_only_its_jobs_in_flight()
    {
        await using var store = await TestPostgres.CreateStoreAsync(Schema);
        await ExecuteAsync($"create table {Schema}.proof_executions (job_id bigint not null, silo_id text not null, attempt int not null, started_at timestamptz not null)");

        var silos = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => StartSiloAsync()));
        var client = Start("client", silos[0].Gateway, ClusterKey, Queue, JobCount.ToString());
        Assert.Equal($"SENT {JobCount}", await ReadLineAsync(client, "the client to send its jobs"));
        Assert.True(client.WaitForExit(TimeSpan.FromSeconds(60)));
        Assert.Equal(0, client.ExitCode);

        await Eventually.TrueAsync(async () => await CountAsync("select count(*) from {0}.proof_executions") >= JobCount * 3 / 10, "30% of the jobs to start", TimeSpan.FromSeconds(120));
        var victim = silos[1];
        victim.Process.Kill(); // SIGKILL: no shutdown, no release, no goodbye
        var killedAt = await ScalarAsync<DateTime>("select clock_timestamp()");

        await Eventually.TrueAsync(async () => (await store.GetCountsAsync(Queue, DateTimeOffset.UtcNow, Ct)).Completed == JobCount, "every job to complete", TimeSpan.FromSeconds(180));

        var counts = await store.GetCountsAsync(Queue, DateTimeOffset.UtcNow, Ct);
        Assert.Equal(new QueueCounts(0, 0, 0, JobCount, 0), counts);
        var executions = await ExecutionsAsync();
        Assert.Equal(JobCount, executions.Select(e => e.JobId).Distinct().Count());

        // Every job that ran more than once had its earlier runs on the killed silo, started before the kill.
        var repeated = executions.GroupBy(e => e.JobId).Where(g => g.Count() > 1).ToList();
        foreach (var job in repeated)
        {
            var runs = job.OrderBy(e => e.StartedAt).ToList();
            Assert.All(runs[..^1], earlier => Assert.True(earlier.SiloId == victim.SiloId && earlier.StartedAt < killedAt, $"job {job.Key}: an earlier run on {earlier.SiloId} at {earlier.StartedAt:O} (kill at {killedAt:O})"));
            Assert.NotEqual(victim.SiloId, runs[^1].SiloId);
        }

        var rerunDelays = repeated.Select(g => (g.Where(e => e.StartedAt > killedAt).Min(e => e.StartedAt) - killedAt).TotalSeconds).ToList();
        var report = new
        {
            jobs = JobCount,
            silos = silos.Length,
            executions = executions.Count,
            killedSilo = victim.SiloId,
            jobsRunOnKilledSiloBeforeKill = executions.Count(e => e.SiloId == victim.SiloId),
            jobsRedone = repeated.Count,
            secondsFromKillToFirstRerun = rerunDelays.Count == 0 ? (double?)null : Math.Round(rerunDelays.Min(), 2),
            secondsFromKillToLastRerun = rerunDelays.Count == 0 ? (double?)null : Math.Round(rerunDelays.Max(), 2),
        };
        var json = JsonSerializer.Serialize(report, new JsonSerializerOptions { WriteIndented = true });
        TestContext.Current.SendDiagnosticMessage(json);
        Directory.CreateDirectory(ArtifactsDirectory);
        await File.WriteAllTextAsync(Path.Combine(ArtifactsDirectory, "multi-process-kill.json"), json, Ct);
        Assert.NotEmpty(repeated); // 16 jobs at a time per silo: the killed silo had jobs in flight
    }

    private static string ArtifactsDirectory => Path.Combine(FindRepositoryRoot(), ".artifacts");

    private static string FindRepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Orleans.Jobs.sln"))) directory = directory.Parent;
        return directory?.FullName ?? AppContext.BaseDirectory;
    }

    private async Task<(Process Process, string SiloId, string Gateway)> StartSiloAsync()
    {
        var process = Start("silo", TestPostgres.ConnectionString, Schema, Queue);
        var ready = await ReadLineAsync(process, "a silo process to start");
        var parts = ready.Split(' ');
        Assert.Equal("READY", parts[0]);
        return (process, parts[1], parts[2]);
    }

    private Process Start(params string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = false };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Orleans.Jobs.ClusterProcess.dll"));
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        var process = Process.Start(start)!;
        _processes.Add(process);
        return process;
    }

    private static async Task<string> ReadLineAsync(Process process, string what) =>
        await Eventually.WithinAsync(process.StandardOutput.ReadLineAsync(Ct).AsTask(), what, TimeSpan.FromSeconds(60)) ?? "";

    private async Task<List<(long JobId, string SiloId, int Attempt, DateTime StartedAt)>> ExecutionsAsync()
    {
        await using var connection = new NpgsqlConnection(TestPostgres.ConnectionString);
        await connection.OpenAsync(Ct);
        await using var command = new NpgsqlCommand($"select job_id, silo_id, attempt, started_at from {Schema}.proof_executions", connection);
        await using var reader = await command.ExecuteReaderAsync(Ct);
        var rows = new List<(long, string, int, DateTime)>();
        while (await reader.ReadAsync(Ct)) rows.Add((reader.GetInt64(0), reader.GetString(1), reader.GetInt32(2), reader.GetDateTime(3)));
        return rows;
    }

    private Task<long> CountAsync(string sql) => ScalarAsync<long>(string.Format(sql, Schema));

    private Task ExecuteAsync(string sql) => ScalarAsync<object>($"{sql}; select 1");

    private static Task<T> ScalarAsync<T>(string sql) => TestPostgres.ScalarAsync<T>(sql);
}
