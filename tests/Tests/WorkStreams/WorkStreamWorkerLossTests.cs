using Orleans.Jobs.Client.WorkStreams;
using Orleans.Jobs.Grains.Interfaces.WorkStreams;

namespace Orleans.Jobs.Tests.WorkStreams;

/// <summary>
/// A fork whose worker dies on every run ends as an error record, so its stage does not wait forever. On PostgreSQL,
/// where the stream's grain state and records outlive the silo that is killed.
/// </summary>
public sealed class WorkStreamWorkerLossTests : PostgresSchemaTest
{
    [Fact]
    public async Task A_fork_whose_silo_is_killed_on_its_only_run_reaches_its_stage_as_an_error_record_and_the_stream_goes_on()
    {
        // A lease far longer than the test's deadline: only Orleans declaring the silo dead can end the run in time.
        await using var cluster = WorkStreamCluster.Settings(new JobsClusterBuilder(2, StoreKind.Postgres, Schema))
            .Set("Queues:Defaults:LeaseDuration", "00:05:00")
            .Build();
        await cluster.DeployAsync();
        var probes = await ProbeForks.PostAsync(cluster.Client);
        using var gate = new ForkGate();
        var id = $"worker-loss-{Guid.NewGuid():N}";
        var stream = cluster.Client.GetGrain<IWorkStreamGrain>(id);
        await stream.OpenAsync(new WorkStreamDefinition(["start", "stage1"], new WorkStreamProperties { MaxAttempts = 1 }));
        await stream.ForkAsync("start", 0, [probes.Hold(gate)]);
        await Eventually.TrueAsync(() => gate.Silos.Count == 1, "the fork to run");
        var doomed = gate.Silos[0];
        var survivor = cluster.Silos.Single(s => JobsCluster.Owner(s) != doomed);
        await cluster.KillSiloAsync(cluster.Silos.Single(s => JobsCluster.Owner(s) == doomed));

        // The stream's grain lives on (or comes back on) the survivor, with its state from PostgreSQL, and takes a fork as before.
        var onSurvivor = JobsCluster.GrainsOn(survivor).GetGrain<IWorkStreamGrain>(id);
        // A call to the grain's activation on the killed silo fails until Orleans declares it dead; a fork sent again is skipped.
        await Eventually.TrueAsync(async () => (await onSurvivor.ForkAsync("start", 1, [probes.Square(6)])).Forked == 2, "the stream to take a fork on the survivor");
        var records = await onSurvivor.RecordsAsync("stage1", 2, TimeSpan.FromSeconds(60));

        var lost = Assert.Single(records, r => r.Job.Id == "start/0");
        Assert.Equal((ForkStatus.Error, "hold", "WorkerLost", 1), (lost.Status, lost.Error!.Name, lost.Error.ExceptionType, lost.Attempt));
        Assert.StartsWith("every run's worker died (1 of 1); last: Attempt 1 of 1 was lost: ", lost.Error.Error);
        Assert.Contains($"its worker's silo {doomed} was declared dead", lost.Error.Error);
        Assert.Equal(36, Assert.Single(records, r => r.Job.Id == "start/1").ResultAs<int>());
        Assert.Equal(new[] { doomed }, gate.Silos); // one run, never another
        Assert.Equal(0, (await onSurvivor.GetProgressAsync()).Outstanding);
    }
}
