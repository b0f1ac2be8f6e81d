using System.Collections.Concurrent;
using Orleans.Jobs.Client.JobSets;
using Orleans.Jobs.Silo.Hosting;
using Orleans.Jobs.Grains.Interfaces;
using Orleans.Jobs.Grains.Interfaces.Heartbeats;

namespace Orleans.Jobs.Tests.Heartbeats;

/// <summary>JobMon's worker heartbeats and its stop signal, on two silos and a jobset worker. Each test has its own cluster: a stop is for good.</summary>
public sealed class HeartbeatTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private readonly ConcurrentDictionary<string, string> _ranOn = new();

    private async Task<(JobsCluster Cluster, TaskCompletionSource Started, TaskCompletionSource Release)> ClusterWithGatedHandlerAsync(string queue)
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var cluster = new JobsClusterBuilder(2, StoreKind.InMemory)
            .ConfigureSilo(silo => silo.AddJobHandler(queue, async (job, ct) =>
            {
                _ranOn[job.Payload] = job.SiloId;
                if (job.Payload == "gated")
                {
                    started.TrySetResult();
                    await release.Task.WaitAsync(Deadline, ct);
                }

                return "done";
            }))
            .Build();
        await cluster.DeployAsync();
        return (cluster, started, release);
    }

    [Fact]
    public async Task Every_silo_beats_with_its_status_current_job_and_history_and_the_list_is_ordered_by_last_beat()
    {
        var (cluster, started, release) = await ClusterWithGatedHandlerAsync("beats");
        await using var _ = cluster;
        var heartbeats = cluster.Client.GetGrain<IWorkerHeartbeatGrain>(0);
        var id = await cluster.Client.GetGrain<IQueueGrain>("beats").SendAsync("gated");
        await started.Task.WaitAsync(Deadline, Ct);

        IReadOnlyList<WorkerInfo> workers = [];
        await Eventually.TrueAsync(async () =>
        {
            workers = await heartbeats.ListAsync();
            return workers.Count == 2 && workers.Any(w => w.Beat.Status == WorkerStatus.Working);
        }, "both silos to beat, one of them working");

        var working = Assert.Single(workers, w => w.Beat.Status == WorkerStatus.Working);
        Assert.Equal($"beats/{id}", working.Beat.CurrentJob);
        Assert.Equal("silo", working.Beat.Kind);
        Assert.StartsWith("silo:", working.Beat.WorkerId);
        Assert.Equal(WorkerStatus.Working, working.History[0].Status);
        Assert.True(working.StatusSince <= working.LastBeat);
        Assert.Equal(workers.OrderByDescending(w => w.LastBeat).Select(w => w.Beat.WorkerId), workers.Select(w => w.Beat.WorkerId));

        release.TrySetResult();
        await Eventually.TrueAsync(async () =>
        {
            var after = (await heartbeats.ListAsync()).Single(w => w.Beat.WorkerId == working.Beat.WorkerId);
            return after.Beat.Status == WorkerStatus.Resting && after.Beat.JobsDone == 1 && after.History.Count >= 2;
        }, "the worker to rest again with one job done and its working spell in its history");
    }

    [Fact]
    public async Task A_stop_signal_lets_running_jobs_finish_and_then_no_worker_takes_more()
    {
        var (cluster, started, release) = await ClusterWithGatedHandlerAsync("stop");
        await using var _ = cluster;
        var heartbeats = cluster.Client.GetGrain<IWorkerHeartbeatGrain>(0);
        var queue = cluster.Client.GetGrain<IQueueGrain>("stop");
        var running = await queue.SendAsync("gated");
        await started.Task.WaitAsync(Deadline, Ct);
        await Eventually.TrueAsync(async () => (await heartbeats.ListAsync()).Count == 2, "both silos to beat");

        Assert.Equal(2, await heartbeats.StopWorkersAsync());
        await Eventually.TrueAsync(async () => (await heartbeats.ListAsync()).All(w => w.StopRequested && w.Beat.Status == WorkerStatus.Stopping), "both silos to hear the stop");

        release.TrySetResult();
        await Eventually.TrueAsync(async () => (await queue.GetJobAsync(running))?.State == JobState.Completed, "the running job to finish after the stop");
        Assert.All(cluster.Silos, s => Assert.True(JobsCluster.Workers(s).StoppedTakingJobs));

        // A job sent now is left to workers that start after the stop: a new silo runs it, the stopped ones never do.
        var later = await queue.SendAsync("after the stop");
        var fresh = await cluster.StartAdditionalSiloAsync();
        await Eventually.TrueAsync(async () => (await queue.GetJobAsync(later))?.State == JobState.Completed, "a silo started after the stop to run the new job");
        Assert.Equal(JobsCluster.Owner(fresh), _ranOn["after the stop"]);
    }

    [Fact]
    public async Task A_jobset_worker_beats_and_a_stop_makes_it_return_after_its_job_and_a_new_worker_finishes_the_set()
    {
        await using var cluster = new JobsClusterBuilder(1, StoreKind.InMemory).Build();
        await cluster.DeployAsync();
        var heartbeats = cluster.Client.GetGrain<IWorkerHeartbeatGrain>(0);
        var inJob = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var ids = Enumerable.Range(0, 20).Select(i => $"job-{i}").ToList();
        var runs = 0;

        var first = JobSet.RunAsync(cluster.Client, "stoppable", async (_, _, ct) =>
        {
            Interlocked.Increment(ref runs);
            inJob.TrySetResult();
            await release.Task.WaitAsync(Deadline, ct);
        }, ids, options: new JobSetOptions { WorkerName = "bee-1", IdleWait = TimeSpan.FromMilliseconds(200) }, cancellationToken: Ct);
        await inJob.Task.WaitAsync(Deadline, Ct);
        await Eventually.TrueAsync(async () => (await heartbeats.ListAsync()).Any(w => w.Beat.WorkerId == "bee-1" && w.Beat.Status == WorkerStatus.Working && w.Beat.Kind == "jobset"), "the jobset worker to beat as working");

        await heartbeats.StopWorkersAsync();
        await Eventually.TrueAsync(async () => (await heartbeats.ListAsync()).Single(w => w.Beat.WorkerId == "bee-1").Beat.Status == WorkerStatus.Stopping, "the jobset worker to hear the stop");
        release.TrySetResult();
        var stopped = await first.WaitAsync(Deadline, Ct);
        Assert.True(stopped.Stopped);
        Assert.True(stopped.Completed < ids.Count, $"the stopped worker ran {stopped.Completed} of {ids.Count}");
        Assert.Equal(1, runs);

        var second = await JobSet.RunAsync(cluster.Client, "stoppable", (_, _) => Interlocked.Increment(ref runs), ids,
            options: new JobSetOptions { WorkerName = "bee-2", IdleWait = TimeSpan.FromMilliseconds(200) }, cancellationToken: Ct);
        Assert.False(second.Stopped);
        Assert.Equal((20L, 0L), (second.Completed, second.Failed));
        Assert.Equal(20, runs);
    }

    [Fact]
    public async Task Bad_beats_are_refused_naming_the_field()
    {
        await using var cluster = new JobsClusterBuilder(1, StoreKind.InMemory).Build();
        await cluster.DeployAsync();
        var heartbeats = cluster.Client.GetGrain<IWorkerHeartbeatGrain>(0);
        var now = DateTimeOffset.UtcNow;
        Assert.Contains("WorkerId", (await Assert.ThrowsAsync<ArgumentException>(() => heartbeats.BeatAsync(new WorkerBeat("", "x", "h", WorkerStatus.Resting, null, 0, now)))).Message);
        Assert.Contains("CurrentJob", (await Assert.ThrowsAsync<ArgumentException>(() => heartbeats.BeatAsync(new WorkerBeat("w", "x", "h", WorkerStatus.Working, new string('j', 5000), 0, now)))).Message);
        Assert.Contains("JobsDone", (await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => heartbeats.BeatAsync(new WorkerBeat("w", "x", "h", WorkerStatus.Working, null, -1, now)))).Message);
        Assert.DoesNotContain(await heartbeats.ListAsync(), w => w.Beat.WorkerId is "w" or "");
    }
}
