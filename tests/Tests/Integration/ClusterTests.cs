using Orleans.Jobs.Silo.Workers;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Jobs.Client.Queues;
using Orleans.Jobs.Grains.Interfaces;
using Orleans.Jobs.Runtime.Jobs;
using Orleans.Jobs.Runtime.Membership;
using Orleans.Jobs.Silo.Hosting;
using Orleans.Jobs.Silo.Testing;

namespace Orleans.Jobs.Tests.Integration;

/// <summary>Monitored queues on a multi-silo TestCluster: silos die, stop, and come and go. Runs on every provider.</summary>
public abstract class ClusterTests<TProvider> : ProviderScenarios<TProvider> where TProvider : IClusterProvider, new()
{
    /// <summary>A handler that hangs on the silos in <paramref name="hangOn"/> until cancelled, and finishes elsewhere.</summary>
    private static Func<Orleans.Jobs.Silo.Workers.JobContext, CancellationToken, Task<string?>> Handler(ExecutionLog log, Func<string, bool> hangOn) => async (job, ct) =>
    {
        log.Started(job);
        if (hangOn(job.SiloId)) await Task.Delay(Timeout.Infinite, ct);
        return $"done by {job.SiloId} on attempt {job.Attempt}";
    };

    private static async Task<JobInfo> CompletedAsync(TestCluster cluster, string queue, long id)
    {
        var grain = cluster.Client.GetGrain<IQueueGrain>(queue);
        await Eventually.TrueAsync(async () => (await grain.GetJobAsync(id))?.State == JobState.Completed, $"job {id} of {queue} to complete");
        return (await grain.GetJobAsync(id))!;
    }

    [Fact]
    public async Task A_monitored_job_whose_silo_is_killed_is_redone_on_another_silo()
    {
        var log = new ExecutionLog();
        string? doomed = null;
        await using var cluster = Cluster(1).ConfigureSilo(s => s.AddJobHandler("work", Handler(log, silo => silo == doomed))).Build();
        await cluster.DeployAsync();
        var first = cluster.Primary;
        doomed = first.SiloId;

        var id = await cluster.Client.GetGrain<IQueueGrain>("work").SendAsync("resize photo-1.jpg");
        await Eventually.TrueAsync(() => log.Ran(id, first.SiloId), "the job to start on the first silo");
        var second = await cluster.StartAdditionalSiloAsync();
        await cluster.KillSiloAsync(first);

        var done = await CompletedAsync(cluster, "work", id);
        Assert.Equal($"done by {second.SiloId} on attempt 2", done.Result);
        Assert.Equal([(first.SiloId, 1), (second.SiloId, 2)], log.Runs(id));
        var silos = (await cluster.Store.GetSilosAsync(Ct)).ToDictionary(s => s.SiloId, s => s.Status);
        Assert.Equal(SiloStatus.Dead, silos[first.SiloId]);
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
        doomed = first.SiloId;

        var unmonitored = await cluster.Client.GetGrain<IQueueGrain>("unmonitored").SendAsync("fire and forget");
        var control = await cluster.Client.GetGrain<IQueueGrain>("monitored").SendAsync("control");
        await Eventually.TrueAsync(() => log.Ran(unmonitored, first.SiloId) && log.Ran(control, first.SiloId), "both jobs to start on the first silo");
        var second = await cluster.StartAdditionalSiloAsync();
        await cluster.KillSiloAsync(first);

        // The monitored control job coming back proves recovery ran and the second silo serves both queues.
        await CompletedAsync(cluster, "monitored", control);
        await Eventually.TrueAsync(async () => (await cluster.Store.GetSilosAsync(Ct)).Single(s => s.SiloId == first.SiloId).Status == SiloStatus.Dead, "the first silo to be declared dead");
        var lost = await cluster.Client.GetGrain<IQueueGrain>("unmonitored").GetJobAsync(unmonitored);
        Assert.Equal((JobState.Running, 1), (lost!.State, lost.Attempt));
        Assert.Equal([(first.SiloId, 1)], log.Runs(unmonitored));
        Assert.DoesNotContain(unmonitored, log.JobsRunOn(second.SiloId));
    }

    [Fact]
    public async Task Expedited_jobs_go_to_the_front_whichever_silo_takes_the_calls()
    {
        await using var cluster = Cluster(2).Build();
        await cluster.DeployAsync();
        var marble = new Marble(cluster.Client);
        await marble.SendAsync("order", "a");
        await marble.SendAsync("order", "b");
        await marble.ExpediteAsync("order", "c");
        await marble.ExpediteAsync("order", "d");
        await marble.SendAsync("order", "e");

        using var remote = cluster.CreateGatewayClient();
        var claimed = await remote.GetGrain<IQueueGrain>("order").ClaimAsync(new ClaimOptions { MaxJobs = 10 });
        Assert.Equal(["d", "c", "a", "b", "e"], claimed.Select(j => j.Payload));
    }

    [Fact]
    public async Task Wait_blocks_on_one_silo_and_wakes_when_another_silo_takes_a_send()
    {
        await using var cluster = Cluster(2).Build();
        await cluster.DeployAsync();
        using var viaFirst = new Orleans.Jobs.Client.ClusterClient(new() { Gateways = { cluster.Silos[0].GatewayUri }, ClusterKey = cluster.Silos.Count > 0 ? "test-cluster-key" : "" });
        using var viaSecond = new Orleans.Jobs.Client.ClusterClient(new() { Gateways = { cluster.Silos[1].GatewayUri }, ClusterKey = "test-cluster-key" });

        // A long poll through the first silo's gateway, far longer than the test's deadline.
        var waiting = new Marble(viaFirst).WaitAsync("inbox", TimeSpan.FromMinutes(4), Ct);
        await Eventually.TrueAsync(async () => (await cluster.Client.GetGrain<IQueueGrain>("inbox").GetCountsAsync()).Running == 0 && !waiting.IsCompleted, "the wait to be in flight");
        var id = await new Marble(viaSecond).SendAsync("inbox", "hello");

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
        await lost.DisposeAsync(); // the worker hangs: no more heartbeats

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
    public async Task A_gracefully_stopped_silo_releases_unfinished_jobs_without_counting_the_attempt()
    {
        var log = new ExecutionLog();
        string? stopping = null;
        await using var cluster = Cluster(1).ConfigureSilo(s => s.AddJobHandler("work", Handler(log, silo => silo == stopping))).Build();
        await cluster.DeployAsync();
        var first = cluster.Primary;
        stopping = first.SiloId;

        var id = await cluster.Client.GetGrain<IQueueGrain>("work").SendAsync("long job");
        await Eventually.TrueAsync(() => log.Ran(id, first.SiloId), "the job to start on the first silo");
        var second = await cluster.StartAdditionalSiloAsync();
        await cluster.StopSiloAsync(first);

        var done = await CompletedAsync(cluster, "work", id);
        Assert.Equal($"done by {second.SiloId} on attempt 1", done.Result);
        Assert.Equal(SiloStatus.Stopped, (await cluster.Store.GetSilosAsync(Ct)).Single(s => s.SiloId == first.SiloId).Status);
    }

    [Fact]
    public async Task Prefetched_jobs_run_and_those_not_started_at_a_graceful_stop_go_back_uncounted()
    {
        var log = new ExecutionLog();
        string? stopping = null;
        await using var cluster = Cluster(1).ConfigureSilo(s =>
        {
            s.Services.Configure<WorkerOptions>(o => { o.MaxConcurrency = 1; o.Prefetch = 8; });
            s.AddJobHandler("work", Handler(log, silo => silo == stopping));
        }).Build();
        await cluster.DeployAsync();
        var first = cluster.Primary;
        var queue = cluster.Client.GetGrain<IQueueGrain>("work");

        // With one worker and a prefetch of 8, a batch still drains: claims run ahead of the worker.
        var warmup = await queue.SendBatchAsync(Enumerable.Range(0, 20).Select(i => new JobMessage($"warm {i}")).ToList());
        foreach (var id in warmup) await CompletedAsync(cluster, "work", id);

        // Now the worker hangs on a job while the rest sit prefetched in this silo, holding leases.
        stopping = first.SiloId;
        var ids = await queue.SendBatchAsync(Enumerable.Range(0, 5).Select(i => new JobMessage($"job {i}")).ToList());
        await Eventually.TrueAsync(async () => (await queue.GetCountsAsync()).Running == 5, "all five to be claimed (one running, four prefetched)");
        var second = await cluster.StartAdditionalSiloAsync();
        await cluster.StopSiloAsync(first);

        foreach (var id in ids)
        {
            var done = await CompletedAsync(cluster, "work", id);
            Assert.Equal($"done by {second.SiloId} on attempt 1", done.Result);
        }
    }

    [Fact]
    public async Task An_idle_queue_never_holds_the_workers_another_queue_needs()
    {
        await using var cluster = Cluster(1).ConfigureSilo(s =>
        {
            s.Services.Configure<WorkerOptions>(o => { o.MaxConcurrency = 2; o.PollTimeout = TimeSpan.FromMinutes(4); });
            s.AddJobHandler("idle", (_, _) => Task.FromResult<string?>(null));
            s.AddJobHandler("busy", (_, _) => Task.FromResult<string?>("done"));
        }).Build();
        await cluster.DeployAsync();

        // The idle queue's claim loop is parked in a four-minute wait; the busy queue's job must not wait for it.
        var id = await cluster.Client.GetGrain<IQueueGrain>("busy").SendAsync("now");
        var done = await CompletedAsync(cluster, "busy", id);
        Assert.Equal("done", done.Result);
    }

    [Fact]
    public async Task Worker_grains_share_a_batch_across_silos_within_each_silos_concurrency_limit()
    {
        var log = new ExecutionLog();
        var inside = 0;
        var maxInside = 0;
        await using var cluster = Cluster(2).ConfigureSilo(s =>
        {
            s.Services.Configure<Orleans.Jobs.Silo.Workers.WorkerOptions>(o => o.MaxConcurrency = 3);
            s.AddJobHandler("batch", async (job, ct) =>
            {
                log.Started(job);
                var now = Interlocked.Increment(ref inside);
                int seen;
                while (now > (seen = Volatile.Read(ref maxInside)) && Interlocked.CompareExchange(ref maxInside, now, seen) != seen) { }
                await Task.Delay(5, ct);
                Interlocked.Decrement(ref inside);
                return null;
            });
        }).Build();
        await cluster.DeployAsync();

        var queue = cluster.Client.GetGrain<IQueueGrain>("batch");
        var ids = await queue.SendBatchAsync(Enumerable.Range(0, 200).Select(i => new JobMessage($"job {i}")).ToList());
        await Eventually.TrueAsync(async () => (await queue.GetCountsAsync()).Completed == ids.Count, "all 200 jobs to complete");

        Assert.Equal(ids.Count, log.Count);
        Assert.InRange(maxInside, 1, 6); // two silos, three at a time each
        Assert.All(cluster.Silos, s => Assert.NotEmpty(log.JobsRunOn(s.SiloId)));
    }
}

public sealed class InMemoryClusterTests : ClusterTests<InMemoryProvider>;

public sealed class PostgresClusterTests : ClusterTests<PostgresProvider>;
