using System.Diagnostics;
using System.Text.Json;
using Orleans.Jobs.ClusterProcess;
using Orleans.Jobs.Grains.Interfaces.WorkStreams;

namespace Orleans.Jobs.Tests.WorkStreams;

/// <summary>
/// Issue 10's proof at scale: 10,000 forks of a posted function over two silo processes on PostgreSQL (jobs, result
/// logs, grain state, reminders and membership), one silo SIGKILLed while it runs forks. Every fork's record reaches
/// its stage exactly once and none is lost, although the forks in flight at the kill run twice.
/// </summary>
public sealed class WorkStreamKillTests : MultiProcessTest
{
    private const int Forks = 10_000;

    [Fact]
    public async Task Killing_a_silo_process_mid_run_delivers_every_forks_record_to_its_stage_exactly_once()
    {
        var clock = Stopwatch.StartNew();
        await using (await TestPostgres.CreateStoreAsync(Schema)) { } // the schema, before the table below
        await TestPostgres.ScalarAsync<int>($"{WorkStreamProof.CreateRunsTable(Schema)}; select 1");
        foreach (var _ in Enumerable.Range(0, 2)) await Processes.StartSiloAsync("silo", ["unused"]);
        var silosReady = clock.Elapsed;
        var streamId = $"kill-{Guid.NewGuid():N}";
        var client = Processes.Start("stream-client", [TestPostgres.ConnectionString, Schema, streamId, Forks.ToString(), .. Processes.ClientArguments()]);
        Assert.Equal($"FORKED {Forks}", await client.ReadLineStartingWithAsync("FORKED", "the client to queue its forks", TimeSpan.FromSeconds(180)));
        var forked = clock.Elapsed;

        // Kill a silo while it holds forks (claimed, not finished) and most forks have not run yet.
        var victim = Processes.Silos[1];
        var queue = WorkStreamRules.Queue(streamId);
        await Eventually.TrueAsync(async () => await CountAsync($"select count(*) from {{0}}.jobs where queue = '{queue}' and state = 1 and owner = '{victim.SiloId}'") > 0,
            "the victim to be running forks", TimeSpan.FromSeconds(120));
        var ranBeforeKill = await CountAsync($"select count(distinct n) from {{0}}.{WorkStreamProof.RunsTable}");
        victim.Process.Kill();
        var killed = clock.Elapsed;

        var finished = await client.ReadLineStartingWithAsync("FINISHED", "the stage to receive every record", TimeSpan.FromSeconds(300));
        var received = JsonSerializer.Deserialize<WorkStreamProof.Received>(finished["FINISHED ".Length..])!;
        var done = clock.Elapsed;
        Assert.Equal(0, await client.WaitForExitAsync("the client to exit", TimeSpan.FromSeconds(60)));

        // What the client's stage received: every fork once, with its result.
        var expectedSum = Enumerable.Range(0, Forks).Sum(n => (long)n * n);
        Assert.True(received.Errors == 0, $"{received.Errors} forks reached the stage as errors; the first: {received.FirstError}");
        Assert.Equal(Forks, received.Ready);
        Assert.Equal(Forks, received.DistinctForks);
        Assert.Equal(expectedSum, received.Sum);

        // What the store holds: one record per fork in the stage's result log, while some forks ran more than once.
        var log = WorkStreamRules.ResultLog(streamId, WorkStreamProof.Stage);
        Assert.Equal(Forks, await CountAsync($"select count(*) from {{0}}.event_log_entries where log = '{log}'"));
        Assert.Equal(Forks, await CountAsync($"select count(distinct key) from {{0}}.event_log_keys where log = '{log}'"));
        Assert.Equal(Forks, await CountAsync($"select count(distinct n) from {{0}}.{WorkStreamProof.RunsTable}"));
        var runs = await CountAsync($"select count(*) from {{0}}.{WorkStreamProof.RunsTable}");
        var ranTwice = await CountAsync($"select count(*) from (select n from {{0}}.{WorkStreamProof.RunsTable} group by n having count(*) > 1) twice");
        var longestPause = await TestPostgres.ScalarAsync<double>(
            $"select coalesce(extract(epoch from max(gap)), 0)::float8 from (select started_at - lag(started_at) over (order by started_at) gap from {Schema}.{WorkStreamProof.RunsTable}) gaps");

        var report = JsonSerializer.Serialize(new
        {
            forks = Forks,
            silos = Processes.Silos.Count,
            forksRunBeforeKill = ranBeforeKill,
            runs,
            forksRunMoreThanOnce = ranTwice,
            recordsOfASecondRun = received.RecordedOnRerun,
            clientRuns = received.Runs,
            longestPauseBetweenRunsSeconds = Math.Round(longestPause, 1),
            seconds = new
            {
                silosReady = Seconds(silosReady),
                forked = Seconds(forked),
                killed = Seconds(killed),
                stageReceivedEveryRecord = Seconds(done),
                total = Seconds(clock.Elapsed),
            },
        }, new JsonSerializerOptions { WriteIndented = true });
        TestContext.Current.SendDiagnosticMessage(report);
        await TestArtifacts.WriteAsync("work-stream-kill.json", report);
        Assert.True(ranBeforeKill < Forks, "the kill came after every fork had run: it proved nothing");
    }

    private static double Seconds(TimeSpan elapsed) => Math.Round(elapsed.TotalSeconds, 1);

    private Task<long> CountAsync(string sql) => TestPostgres.ScalarAsync<long>(string.Format(sql, Schema));
}
