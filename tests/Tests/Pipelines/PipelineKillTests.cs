using System.Text.Json;

namespace Orleans.Jobs.Tests.Pipelines;

/// <summary>
/// Pipelines across silo processes on PostgreSQL (jobs, grain state, reminders, membership and the pipeline store),
/// one silo SIGKILLed while it runs steps: every pipeline still finishes, in order, with every step's result.
/// </summary>
public sealed class PipelineKillTests : MultiProcessTest
{
    private const int PipelineCount = 1_000;

    [Fact]
    public async Task Killing_a_silo_process_mid_run_finishes_every_pipeline_with_every_result()
    {
        // 200 ms per step: the 3,000 steps take long enough on 3 silos that the kill lands mid-run.
        foreach (var _ in Enumerable.Range(0, 3)) await Processes.StartSiloAsync("pipeline-silo", ["--Proof:StepMilliseconds=200"]);
        var prefix = $"kill-{Guid.NewGuid():N}"[..13];
        var client = Processes.Start("pipeline-client", [PipelineCount.ToString(), prefix, .. Processes.ClientArguments()]);
        Assert.Equal($"STARTED {PipelineCount}", await client.ReadLineStartingWithAsync("STARTED", "the client to start its pipelines", TimeSpan.FromSeconds(180)));

        // Kill a silo while it holds step jobs (claimed, not finished) and some pipelines are still running.
        var victim = Processes.Silos[1];
        await Eventually.TrueAsync(async () => await CountAsync($"select count(*) from {{0}}.jobs where queue like 'pipeline:%' and state = 1 and owner = '{victim.SiloId}'") > 0,
            "the victim to be running steps", TimeSpan.FromSeconds(120));
        var doneBeforeKill = await CountAsync("select count(*) from {0}.pipeline_results where data ? 'c'");
        victim.Process.Kill();

        var finished = await client.ReadLineStartingWithAsync("FINISHED", "every pipeline to finish", TimeSpan.FromSeconds(300));
        Assert.Equal($"FINISHED {PipelineCount} 0", finished);
        Assert.Equal(0, await client.WaitForExitAsync("the client to exit", TimeSpan.FromSeconds(60)));

        // No step's result lost: a = n, b = 2n and c = 3n for every pipeline.
        var wrong = await CountAsync(
            $"select count(*) from {{0}}.pipeline_results where pipeline_id like '{prefix}-%' and not (" +
            "(data->>'a')::bigint = substring(pipeline_id from '[0-9]+$')::bigint and (data->>'b')::bigint = 2 * (data->>'a')::bigint and (data->>'c')::bigint = 3 * (data->>'a')::bigint)");
        Assert.Equal(PipelineCount, await CountAsync($"select count(*) from {{0}}.pipeline_results where pipeline_id like '{prefix}-%'"));
        Assert.Equal(0, wrong);
        var redone = await CountAsync("select count(*) from {0}.finished_jobs where queue like 'pipeline:%' and attempt > 1");

        var report = JsonSerializer.Serialize(new
        {
            pipelines = PipelineCount,
            steps = PipelineCount * 3,
            silos = Processes.Silos.Count,
            pipelinesDoneBeforeKill = doneBeforeKill,
            stepJobsRunMoreThanOnce = redone,
        }, new JsonSerializerOptions { WriteIndented = true });
        TestContext.Current.SendDiagnosticMessage(report);
        await TestArtifacts.WriteAsync("pipeline-kill.json", report);
        Assert.True(doneBeforeKill < PipelineCount, "the kill came after every pipeline had finished: it proved nothing");
    }

    private Task<long> CountAsync(string sql) => TestPostgres.ScalarAsync<long>(string.Format(sql, Schema));
}
