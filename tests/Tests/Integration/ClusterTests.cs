using Microsoft.Extensions.DependencyInjection;
using Orleans.Jobs.Client.Queues;
using Orleans.Jobs.Grains.Queues;
using Orleans.Jobs.Grains.Interfaces;
using Orleans.Jobs.Silo.Hosting;
using Orleans.Jobs.Silo.Workers;
using Orleans.Runtime;

namespace Orleans.Jobs.Tests.Integration;

/// <summary>Monitored queues on a multi-silo Orleans TestCluster: silos die, stop, and come and go. Runs on every job store.</summary>
public abstract class ClusterTests<TProvider> : ProviderScenarios<TProvider> where TProvider : IClusterProvider, new()
{
    /// <summary>A handler that hangs on the silos <paramref name="hangOn"/> names (by claim owner) until cancelled, and finishes elsewhere.</summary>
    private static Func<JobContext, CancellationToken, Task<string?>> Handler(ExecutionLog log, Func<string, bool> hangOn) => async (job, ct) =>
    {
        log.Started(job);
        if (hangOn(job.SiloId)) await Task.Delay(Timeout.Infinite, ct);
        return $"done by {job.SiloId} on attempt {job.Attempt}";
    };

    /// <summary>
    /// Waits for a job to complete, asking through <paramref name="grains"/>: after a kill, a surviving silo's own grain
    /// factory (the test client may only know the dead silo's gateway).
    /// </summary>
    private static async Task<JobInfo> CompletedAsync(IGrainFactory grains, string queue, long id)
    {
        var grain = grains.GetGrain<IQueueGrain>(queue);
        await Eventually.TrueAsync(async () => (await grain.GetJobAsync(id))?.State == JobState.Completed, $"job {id} of {queue} to complete");
        return (await grain.GetJobAsync(id))!;
    }

    [Fact]
    public async Task A_monitored_job_whose_silo_is_killed_is_redone_on_another_silo_as_soon_as_membership_declares_it_dead()
    {
        var log = new ExecutionLog();
        string? doomed = null;
        // A lease far longer than the test's deadline: only Orleans declaring the silo dead can bring the job back in time.
        await using var cluster = Cluster(1).Set("Queues:Defaults:LeaseDuration", "00:05:00")
            .ConfigureSilo(s => s.AddJobHandler("work", Handler(log, silo => silo == doomed))).Build();
        await cluster.DeployAsync();
        var first = cluster.Primary;
        doomed = JobsCluster.Owner(first);

        var id = await cluster.Client.GetGrain<IQueueGrain>("work").SendAsync("resize photo-1.jpg");
        await Eventually.TrueAsync(() => log.Ran(id, doomed), "the job to start on the first silo");
        var second = await cluster.StartAdditionalSiloAsync();
        await cluster.KillSiloAsync(first);

        var done = await CompletedAsync(JobsCluster.GrainsOn(second), "work", id);
        Assert.Equal($"done by {JobsCluster.Owner(second)} on attempt 2", done.Result);
        Assert.Equal([(doomed, 1), (JobsCluster.Owner(second), 2)], log.Runs(id));
        var membership = JobsCluster.Services(second).GetRequiredService<IClusterMembershipService>();
        Assert.Equal(SiloStatus.Dead, membership.CurrentSnapshot.GetSiloStatus(first.SiloAddress));
        Assert.Contains("was declared dead", done.LastError ?? (await JobsCluster.GrainsOn(second).GetGrain<IQueueGrain>("work").GetJobAsync(id))!.LastError);
    }

    [Fact]
    public async Task An_unmonitored_job_whose_silo_is_killed_is_not_redone()
    {
        var log = new ExecutionLog();
        string? doomed = null;
        await using var cluster = Cluster(1).ConfigureSilo(s =>
        {
            s.AddJobHandler("unmonitored", Handler(log, silo => silo == doomed), new JobHandlerOptions { Monitored = false });
            s.AddJobHandler("monitored", Handler(log, silo => silo == doomed));
        }).Build();
        await cluster.DeployAsync();
        var first = cluster.Primary;
        doomed = JobsCluster.Owner(first);

        var unmonitored = await cluster.Client.GetGrain<IQueueGrain>("unmonitored").SendAsync("fire and forget");
        var control = await cluster.Client.GetGrain<IQueueGrain>("monitored").SendAsync("control");
        await Eventually.TrueAsync(() => log.Ran(unmonitored, doomed) && log.Ran(control, doomed), "both jobs to start on the first silo");
        var second = await cluster.StartAdditionalSiloAsync();
        await cluster.KillSiloAsync(first);

        // The monitored control job coming back proves recovery ran and the second silo serves both queues.
        await CompletedAsync(JobsCluster.GrainsOn(second), "monitored", control);
        var lost = await JobsCluster.GrainsOn(second).GetGrain<IQueueGrain>("unmonitored").GetJobAsync(unmonitored);
        Assert.Equal((JobState.Running, 1), (lost!.State, lost.Attempt));
        Assert.Equal([(doomed, 1)], log.Runs(unmonitored));
        Assert.DoesNotContain(unmonitored, log.JobsRunOn(JobsCluster.Owner(second)));
    }

    [Fact]
    public async Task Expedited_jobs_go_to_the_front_whichever_silo_takes_the_calls()
    {
        await using var cluster = Cluster(2).Build();
        await cluster.DeployAsync();
        var marble = new Marble(JobsCluster.GrainsOn(cluster.Silos[0]));
        await marble.SendAsync("order", "a");
        await marble.SendAsync("order", "b");
        await marble.ExpediteAsync("order", "c");
        await marble.ExpediteAsync("order", "d");
        await marble.SendAsync("order", "e");

        var claimed = await JobsCluster.GrainsOn(cluster.Silos[1]).GetGrain<IQueueGrain>("order").ClaimAsync(new ClaimOptions { MaxJobs = 10 });
        Assert.Equal(["d", "c", "a", "b", "e"], claimed.Select(j => j.Payload));
    }

    [Fact]
    public async Task Wait_blocks_on_one_silo_and_wakes_when_another_silo_takes_a_send()
    {
        await using var cluster = Cluster(2).Build();
        await cluster.DeployAsync();
        var onFirst = JobsCluster.GrainsOn(cluster.Silos[0]);
        var onSecond = JobsCluster.GrainsOn(cluster.Silos[1]);

        // A long wait served by the first silo, far longer than Orleans' 30 s default response timeout and the test's deadline.
        var marble = new Marble(onFirst);
        var plane = JobsCluster.Services(cluster.Silos[0]).GetRequiredService<QueueDataPlane>();
        Assert.Equal(0, plane.WaitsInFlight("inbox"));
        var waiting = marble.WaitAsync("inbox", TimeSpan.FromMinutes(4), Ct);
        await Eventually.TrueAsync(() => plane.WaitsInFlight("inbox") == 1, "the wait to be blocked on the first silo");
        Assert.False(waiting.IsCompleted, "the queue is empty: the wait must block");
        var id = await new Marble(onSecond).SendAsync("inbox", "hello");

        var job = await Eventually.WithinAsync(waiting, "the blocked wait to wake on the send", TimeSpan.FromSeconds(30));
        Assert.Equal((id, "hello"), (job!.JobId, job.Data));
        await job.FinishAsync("read");
    }

    [Fact]
    public async Task A_stale_worker_can_neither_renew_nor_finish_a_job_it_lost()
    {
        await using var cluster = Cluster(2).Build();
        await cluster.DeployAsync();
        var queue = cluster.Client.GetGrain<IQueueGrain>("stale");
        var id = await queue.SendAsync("contested");

        var hung = new Marble(cluster.Client, new MarbleOptions { LeaseDuration = TimeSpan.FromMilliseconds(500) });
        var lost = (await hung.WaitAsync("stale", TimeSpan.FromSeconds(5), Ct))!;
        await lost.AbandonAsync(); // the worker hangs: no more heartbeats

        var healthy = new Marble(cluster.Client);
        var taken = await healthy.WaitAsync("stale", TimeSpan.FromSeconds(30), Ct);
        Assert.Equal((id, 2), (taken!.JobId, taken.Attempt));

        Assert.Equal(JobUpdateOutcome.LeaseLost, await queue.RenewLeaseAsync(id, lost.Claim.LeaseToken));
        Assert.Equal(FailOutcome.LeaseLost, (await queue.FailAsync(id, lost.Claim.LeaseToken, "late")).Outcome);
        var error = await Assert.ThrowsAsync<JobLeaseLostException>(() => lost.FinishAsync("stale result"));
        Assert.Contains($"job {id}", error.Message);
        Assert.Equal(JobState.Running, (await queue.GetJobAsync(id))!.State);

        await healthy.FinishAsync("fresh result");
        var done = await queue.GetJobAsync(id);
        Assert.Equal((JobState.Completed, "fresh result"), (done!.State, done.Result));
    }

    [Fact]
    public async Task A_running_job_whose_lease_its_silo_lost_has_its_handler_cancelled_and_runs_again()
    {
        var log = new ExecutionLog();
        var firstAttemptCancelled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var cluster = Cluster(1).Set("Workers:LeaseDuration", "00:00:00.300").ConfigureSilo(s => s.AddJobHandler("work", async (job, ct) =>
        {
            log.Started(job);
            if (job.Attempt > 1) return $"attempt {job.Attempt}";
            try
            {
                await Task.Delay(Timeout.Infinite, ct); // the first attempt runs until its silo no longer holds it
            }
            catch (OperationCanceledException)
            {
                firstAttemptCancelled.TrySetResult();
                throw;
            }

            return "never";
        })).Build();
        await cluster.DeployAsync();
        var silo = cluster.Primary;
        var id = await cluster.Client.GetGrain<IQueueGrain>("work").SendAsync("held");
        await Eventually.TrueAsync(() => log.Ran(id, JobsCluster.Owner(silo)), "the first attempt to start");

        // The store takes the job back as if the silo had been declared dead: its next renewal is refused.
        var store = JobsCluster.Services(silo).GetRequiredService<Orleans.Jobs.Storage.IJobStore>();
        Assert.Equal(1, await store.RecoverJobsOfOwnerAsync(JobsCluster.Owner(silo), DateTimeOffset.UtcNow, Ct));

        await Eventually.WithinAsync(firstAttemptCancelled.Task.ContinueWith(_ => true), "the first attempt's handler to be cancelled");
        var done = await CompletedAsync(JobsCluster.GrainsOn(silo), "work", id);
        // Attempt 2 as a rule; a later one when a stall of the machine outlasts the 300 ms lease of attempt 2 too.
        Assert.Matches("^attempt ([2-9]|[1-9][0-9]+)$", done.Result);
    }

    [Fact]
    public async Task A_gracefully_stopped_silo_releases_unfinished_jobs_without_counting_the_attempt()
    {
        var log = new ExecutionLog();
        string? stopping = null;
        await using var cluster = Cluster(1).ConfigureSilo(s => s.AddJobHandler("work", Handler(log, silo => silo == stopping))).Build();
        await cluster.DeployAsync();
        var first = cluster.Primary;
        stopping = JobsCluster.Owner(first);

        var id = await cluster.Client.GetGrain<IQueueGrain>("work").SendAsync("long job");
        await Eventually.TrueAsync(() => log.Ran(id, stopping), "the job to start on the first silo");
        var second = await cluster.StartAdditionalSiloAsync();
        await cluster.StopSiloAsync(first);

        var done = await CompletedAsync(JobsCluster.GrainsOn(second), "work", id);
        Assert.Equal($"done by {JobsCluster.Owner(second)} on attempt 1", done.Result);
    }

    [Fact]
    public async Task A_restarted_silo_is_a_new_incarnation_that_runs_what_the_old_one_released()
    {
        var log = new ExecutionLog();
        string? oldIncarnation = null;
        await using var cluster = Cluster(1).ConfigureSilo(s => s.AddJobHandler("work", Handler(log, silo => silo == oldIncarnation))).Build();
        await cluster.DeployAsync();
        oldIncarnation = JobsCluster.Owner(cluster.Primary);

        var id = await cluster.Client.GetGrain<IQueueGrain>("work").SendAsync("spans a restart");
        await Eventually.TrueAsync(() => log.Ran(id, oldIncarnation), "the job to start before the restart");
        var restarted = (await Eventually.WithinAsync(cluster.Orleans.RestartSiloAsync(cluster.Primary), "the silo to restart", TimeSpan.FromSeconds(60)))!;

        var newIncarnation = JobsCluster.Owner(restarted);
        Assert.NotEqual(oldIncarnation, newIncarnation); // same endpoint, new generation: a new claim owner
        var done = await CompletedAsync(JobsCluster.GrainsOn(restarted), "work", id);
        Assert.Equal($"done by {newIncarnation} on attempt 1", done.Result); // released at the graceful stop: the attempt did not count
    }

    [Fact]
    public async Task Prefetched_jobs_run_and_those_not_started_at_a_graceful_stop_go_back_uncounted()
    {
        var log = new ExecutionLog();
        string? stopping = null;
        await using var cluster = Cluster(1)
            .Set("Workers:MaxConcurrency", "1").Set("Workers:Prefetch", "8")
            .ConfigureSilo(s => s.AddJobHandler("work", Handler(log, silo => silo == stopping))).Build();
        await cluster.DeployAsync();
        var first = cluster.Primary;
        var queue = cluster.Client.GetGrain<IQueueGrain>("work");

        // With one worker and a prefetch of 8, a batch still drains: claims run ahead of the worker.
        var warmup = await queue.SendBatchAsync(Enumerable.Range(0, 20).Select(i => new JobMessage($"warm {i}")).ToList());
        foreach (var id in warmup) await CompletedAsync(cluster.Client, "work", id);

        // Now the worker hangs on a job while the rest sit prefetched in this silo, holding leases.
        stopping = JobsCluster.Owner(first);
        var ids = await queue.SendBatchAsync(Enumerable.Range(0, 5).Select(i => new JobMessage($"job {i}")).ToList());
        await Eventually.TrueAsync(async () => (await queue.GetCountsAsync()).Running == 5, "all five to be claimed (one running, four prefetched)");
        var second = await cluster.StartAdditionalSiloAsync();
        await cluster.StopSiloAsync(first);

        foreach (var id in ids)
        {
            var done = await CompletedAsync(JobsCluster.GrainsOn(second), "work", id);
            Assert.Equal($"done by {JobsCluster.Owner(second)} on attempt 1", done.Result);
        }
    }

    [Fact]
    public async Task An_idle_queue_never_holds_the_workers_another_queue_needs()
    {
        await using var cluster = Cluster(1)
            .Set("Workers:MaxConcurrency", "2").Set("Workers:PollTimeout", "00:04:00")
            .ConfigureSilo(s =>
            {
                s.AddJobHandler("idle", (_, _) => Task.FromResult<string?>(null));
                s.AddJobHandler("busy", (_, _) => Task.FromResult<string?>("done"));
            }).Build();
        await cluster.DeployAsync();

        // The idle queue's claim loop is parked in a four-minute wait; the busy queue's job must not wait for it.
        var id = await cluster.Client.GetGrain<IQueueGrain>("busy").SendAsync("now");
        var done = await CompletedAsync(cluster.Client, "busy", id);
        Assert.Equal("done", done.Result);
    }

    [Fact]
    public async Task Workers_share_a_batch_across_silos_within_each_silos_own_concurrency_limit()
    {
        var log = new ExecutionLog();
        var inside = new System.Collections.Concurrent.ConcurrentDictionary<string, int>();
        var peak = new System.Collections.Concurrent.ConcurrentDictionary<string, int>();
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var cluster = Cluster(2).Set("Workers:MaxConcurrency", "3").ConfigureSilo(s => s.AddJobHandler("batch", async (job, ct) =>
        {
            log.Started(job);
            var now = inside.AddOrUpdate(job.SiloId, 1, (_, n) => n + 1);
            peak.AddOrUpdate(job.SiloId, now, (_, p) => Math.Max(p, now));
            await release.Task.WaitAsync(ct); // hold every slot until both silos are full
            inside.AddOrUpdate(job.SiloId, 0, (_, n) => n - 1);
            return null;
        })).Build();
        await cluster.DeployAsync();

        var queue = cluster.Client.GetGrain<IQueueGrain>("batch");
        var ids = await queue.SendBatchAsync(Enumerable.Range(0, 60).Select(i => new JobMessage($"job {i}")).ToList());
        var owners = cluster.Silos.Select(JobsCluster.Owner).ToList();
        // Each silo fills exactly its own three slots and takes no more while they are held.
        await Eventually.TrueAsync(() => owners.All(o => inside.GetValueOrDefault(o) == 3), "both silos to run three jobs each");
        Assert.Equal(6L, (await queue.GetCountsAsync()).Running);
        release.SetResult();
        await Eventually.TrueAsync(async () => (await queue.GetCountsAsync()).Completed == ids.Count, "all 60 jobs to complete");

        Assert.Equal(ids.Count, log.Count);
        Assert.All(owners, o => Assert.Equal(3, peak[o]));
        Assert.All(cluster.Silos, s => Assert.Equal(3, JobsCluster.Workers(s).PeakRunningJobs));
    }
}

public sealed class InMemoryClusterTests : ClusterTests<InMemoryProvider>;

public sealed class PostgresClusterTests : ClusterTests<PostgresProvider>;

/// <summary>The queue monitor's reminder on PostgreSQL: durable, it brings the monitor back on another silo with nobody touching the queue.</summary>
public sealed class MonitorKeepAliveTests : PostgresSchemaTest
{
    [Fact]
    public async Task A_queue_nobody_touches_is_monitored_again_after_the_silo_hosting_its_monitor_stops()
    {
        await using var direct = await TestPostgres.CreateStoreAsync(Schema);
        await using var cluster = new JobsClusterBuilder(1, StoreKind.Postgres, Schema)
            .Set("Queues:KeepAlivePeriod", "00:00:02")
            .ConfigureSilo(s => s.Configure<global::Orleans.Hosting.ReminderOptions>(o => o.MinimumReminderPeriod = TimeSpan.FromSeconds(1)))
            .Build();
        await cluster.DeployAsync();
        var first = cluster.Primary;

        // A client claims with a short lease and hangs; the queue's monitor (its control grain) lives on the only silo.
        var marble = new Marble(cluster.Client, new MarbleOptions { LeaseDuration = TimeSpan.FromSeconds(1) });
        var id = await marble.SendAsync("quiet", "forgotten");
        var hung = (await marble.WaitAsync("quiet", TimeSpan.FromSeconds(10), Ct))!;
        await hung.AbandonAsync();

        var second = await cluster.StartAdditionalSiloAsync();
        await cluster.StopSiloAsync(first); // the monitor goes with it; nothing calls the queue from now on

        // Only the reminder, firing on the second silo, can reactivate the monitor that returns the job.
        await Eventually.TrueAsync(async () => (await direct.GetJobAsync("quiet", id, Ct))?.State == JobState.Available, "the reminder-revived monitor to return the job", TimeSpan.FromSeconds(30));
        Assert.Contains("lease expired", (await direct.GetJobAsync("quiet", id, Ct))!.LastError);
    }
}
