using System.Diagnostics;
using Microsoft.Extensions.Options;
using Orleans.Jobs.Client;
using Orleans.Jobs.Client.Gateway;
using Orleans.Jobs.Client.Queues;
using Orleans.Jobs.Grains.Interfaces;
using Orleans.Jobs.Runtime;
using Orleans.Jobs.Runtime.Hosting;
using Orleans.Jobs.Runtime.Jobs;
using Orleans.Jobs.Silo.Gateway;
using Orleans.Jobs.Silo.Hosting;

namespace Orleans.Jobs.Silo.Sample;

/// <summary>
/// The built-in sample: every capability shipped so far, run against a live silo through its HTTP gateway, with
/// each result checked. It is the README's first command.
/// </summary>
public sealed class SampleWorkload(WebApplication silo, TextWriter output)
{
    private const string ThumbnailQueue = "sample.thumbnails";
    private const string FlakyQueue = "sample.flaky";
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    // Queues the sample consumes itself are new each run, so a durable store's history from earlier runs cannot interfere.
    private readonly string _run = Guid.NewGuid().ToString("N")[..8];
    private string MarbleQueue => $"sample.marble.{_run}";
    private string OrderQueue => $"sample.order.{_run}";
    private int _checks;
    private readonly List<string> _failures = [];

    /// <summary>Registers the sample's job handlers on the silo.</summary>
    public static void Configure(ISiloBuilder silo)
    {
        silo.AddJobHandler(ThumbnailQueue, async (job, ct) =>
        {
            var image = job.GetPayload<ImageJob>();
            await Task.Delay(TimeSpan.FromMilliseconds(20), ct);
            return $"{image.Name}: {image.Width / 4}x{image.Height / 4} thumbnail";
        });
        silo.AddJobHandler(FlakyQueue, (job, _) => throw new InvalidOperationException($"simulated failure on attempt {job.Attempt}"));
    }

    /// <summary>Runs the sample; true when every check passed.</summary>
    public async Task<bool> RunAsync(CancellationToken cancellationToken)
    {
        var gateway = silo.GatewayUri()!;
        var key = silo.Services.GetRequiredService<IOptions<GatewayOptions>>().Value.ClusterKey;
        using var client = new ClusterClient(new ClientOptions { Gateways = { gateway }, ClusterKey = key });
        var total = Stopwatch.StartNew();

        try
        {
            await Step("Cluster", () => ClusterAsync(client));
            await Step("Queue order: send, expedite, priority, delay", () => OrderAsync(client));
            await Step("Worker grains: a batch of 20 jobs on the silo's handler", () => WorkersAsync(client, cancellationToken));
            await Step("Monitored job: a worker crashes and its job is redone", () => CrashAsync(client, cancellationToken));
            await Step("Unmonitored job: a crashed worker's job is not redone", () => UnmonitoredAsync(client));
            await Step("Retries and the dead-letter list", () => DeadLetterAsync(client, cancellationToken));
            await Step("Bad input gets clear errors", () => BadInputAsync(client, gateway));
        }
        catch (Exception e)
        {
            _failures.Add($"the sample stopped: {e.GetType().Name}: {e.Message}");
        }

        output.WriteLine();
        if (_failures.Count == 0)
        {
            output.WriteLine($"Sample finished in {total.Elapsed.TotalSeconds:0.0}s: all {_checks} checks passed.");
            return true;
        }

        output.WriteLine($"Sample FAILED: {_failures.Count} of {_checks} checks failed:");
        foreach (var failure in _failures) output.WriteLine($"  - {failure}");
        return false;
    }

    private async Task ClusterAsync(ClusterClient client)
    {
        var status = await client.GetClusterStatusAsync();
        foreach (var s in status.Silos.Where(s => s.Status == "Active"))
            Say($"silo {s.SiloId} on node {s.Node}: {s.Status}, gateway {s.Gateway ?? "-"} ({status.Store} store)");
        Check(status.Silos.Any(s => s.SiloId == status.ServedBy && s.Status == "Active"), "this silo is active in the membership table");
    }

    private async Task OrderAsync(ClusterClient client)
    {
        var marble = new Marble(client, new MarbleOptions { Monitored = false });
        await marble.SendAsync(OrderQueue, "sent first");
        await marble.SendAsync(OrderQueue, "sent second");
        await marble.ExpediteAsync(OrderQueue, "expedited");
        await marble.SendAsync(OrderQueue, "urgent (priority 10)", new SendOptions { Priority = 10 });
        await marble.SendAsync(OrderQueue, "delayed 300 ms", new SendOptions { Delay = TimeSpan.FromMilliseconds(300) });

        var order = new List<string>();
        while (order.Count < 5 && await marble.WaitAsync(OrderQueue, TimeSpan.FromSeconds(5)) is { } job)
        {
            order.Add(job.Data);
            await marble.FinishAsync();
        }

        Say("claimed in order: " + string.Join(" → ", order));
        Check(order.SequenceEqual(["urgent (priority 10)", "expedited", "sent first", "sent second", "delayed 300 ms"]), "priority, then expedite, then send order, then the delayed job once visible");
    }

    private async Task WorkersAsync(ClusterClient client, CancellationToken cancellationToken)
    {
        var queue = client.GetGrain<IQueueGrain>(ThumbnailQueue);
        var images = Enumerable.Range(1, 20).Select(i => new JobMessage($$"""{"name":"photo-{{i}}.jpg","width":{{800 + i}},"height":600}""")).ToList();
        var ids = await queue.SendBatchAsync(images);
        var jobs = await WaitForJobsAsync(queue, ids, JobState.Completed, cancellationToken);
        Say($"{jobs.Count(j => j.State == JobState.Completed)} of {ids.Count} completed by the silo's workers; job {ids[0]} result: \"{jobs[0].Result}\"");
        Check(jobs.All(j => j.State == JobState.Completed && j.Result is not null), "every batch job completed with a result");
    }

    private async Task CrashAsync(ClusterClient client, CancellationToken cancellationToken)
    {
        var queue = client.GetGrain<IQueueGrain>(MarbleQueue);
        await queue.ConfigureAsync(new QueueSettings { LeaseDuration = TimeSpan.FromSeconds(2), MonitorPeriod = TimeSpan.FromSeconds(1), MaxAttempts = 3 });
        Say("queue configured: lease 2s, monitor every 1s, 3 attempts");

        var crasher = new Marble(client);
        var survivor = new Marble(client);
        var id = await crasher.SendAsync(MarbleQueue, "resize photo-42.jpg");
        var taken = await crasher.WaitAsync(MarbleQueue, TimeSpan.FromSeconds(5));
        Say($"worker A took job {taken?.JobId} (attempt {taken?.Attempt}) and crashes without finishing");
        var crashedAt = Stopwatch.StartNew();
        if (taken is not null) await taken.DisposeAsync(); // stops heartbeating: to the cluster, this worker is dead

        var redone = await survivor.WaitAsync(MarbleQueue, Deadline, cancellationToken);
        Say($"the monitor returned it after {crashedAt.Elapsed.TotalSeconds:0.0}s; worker B took job {redone?.JobId} on attempt {redone?.Attempt}");
        await survivor.FinishAsync("done by B");
        var info = await queue.GetJobAsync(id);
        Check(redone?.JobId == id && redone.Attempt == 2 && info?.State == JobState.Completed, "the crashed worker's job was redone on attempt 2 and completed");

        try
        {
            await taken!.FinishAsync();
            Check(false, "the crashed worker cannot finish the job it lost");
        }
        catch (JobLeaseLostException e)
        {
            Say($"worker A comes back and tries to finish: {e.Message}");
            Check(true, "the crashed worker cannot finish the job it lost");
        }
    }

    private async Task UnmonitoredAsync(ClusterClient client)
    {
        var queueName = MarbleQueue + ".unmonitored";
        var queue = client.GetGrain<IQueueGrain>(queueName);
        await queue.ConfigureAsync(new QueueSettings { LeaseDuration = TimeSpan.FromSeconds(1), MonitorPeriod = TimeSpan.FromSeconds(1) });
        var marble = new Marble(client, new MarbleOptions { Monitored = false });
        await marble.SendAsync(queueName, "fire and forget");
        var job = await marble.WaitAsync(queueName, TimeSpan.FromSeconds(5));
        Say($"unmonitored worker took job {job?.JobId} and crashes");
        var again = await marble.WaitAsync(queueName, TimeSpan.FromSeconds(3));
        var counts = await queue.GetCountsAsync();
        Say($"3s later: {counts.Available} available, {counts.Running} still marked running, never redone");
        Check(again is null && counts.Running == 1, "an unmonitored job is not redone");
    }

    private async Task DeadLetterAsync(ClusterClient client, CancellationToken cancellationToken)
    {
        var queue = client.GetGrain<IQueueGrain>(FlakyQueue);
        await queue.ConfigureAsync(new QueueSettings { MaxAttempts = 3, RetryDelay = TimeSpan.FromMilliseconds(100) });
        var id = await queue.SendAsync("always fails");
        var dead = (await WaitForJobsAsync(queue, [id], JobState.DeadLettered, cancellationToken)).Single();
        Say($"job {id} failed {dead.Attempt} times and is in the dead-letter list: \"{dead.LastError}\"");
        Check(dead.JobId == id && dead.Attempt == 3, "a job that keeps failing is dead-lettered after its last attempt, not dropped");

        await queue.RequeueDeadLetterAsync(id);
        var requeued = await queue.GetJobAsync(id);
        Say($"requeued by hand: state {requeued?.State}");
        Check(requeued?.State is JobState.Available or JobState.Running or JobState.DeadLettered, "a dead letter can be requeued");
    }

    private async Task BadInputAsync(ClusterClient client, Uri gateway)
    {
        await ExpectError<ArgumentException>(() => client.GetGrain<IQueueGrain>("no spaces allowed!").SendAsync("x"), "a bad queue name");
        await ExpectError<ArgumentException>(() => client.GetGrain<IQueueGrain>(OrderQueue).SendAsync(new string('x', QueueLimits.MaxPayloadBytes + 1)), "an oversized payload");
        await ExpectError<ArgumentOutOfRangeException>(() => client.GetGrain<IQueueGrain>(OrderQueue).FinishAsync(-1, Guid.NewGuid()), "a bad job id");
        using var stranger = new ClusterClient(new ClientOptions { Gateways = { gateway }, ClusterKey = "wrong-key" });
        await ExpectError<ClusterKeyRejectedException>(() => stranger.ConnectAsync(), "a wrong cluster key");
    }

    private async Task ExpectError<TException>(Func<Task> call, string what) where TException : Exception
    {
        try
        {
            await call();
            Check(false, $"{what} is refused");
        }
        catch (TException e)
        {
            Say($"{what}: {e.Message.Split(Environment.NewLine)[0]}");
            Check(true, $"{what} is refused");
        }
    }

    /// <summary>Polls the jobs until all are in <paramref name="state"/> or the deadline passes; returns them as last seen.</summary>
    private static async Task<IReadOnlyList<JobInfo>> WaitForJobsAsync(IQueueGrain queue, IReadOnlyList<long> ids, JobState state, CancellationToken cancellationToken)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            var jobs = await Task.WhenAll(ids.Select(async id => (await queue.GetJobAsync(id))!));
            if (jobs.All(j => j.State == state) || deadline.Elapsed > Deadline) return jobs;
            await Task.Delay(TimeSpan.FromMilliseconds(50), cancellationToken);
        }
    }

    private async Task Step(string title, Func<Task> step)
    {
        output.WriteLine();
        output.WriteLine($"== {title}");
        await step();
    }

    private void Say(string line) => output.WriteLine($"   {line}");

    private void Check(bool ok, string what)
    {
        _checks++;
        output.WriteLine($"   [{(ok ? "ok" : "FAILED")}] {what}");
        if (!ok) _failures.Add(what);
    }

    private sealed record ImageJob(string Name, int Width, int Height);
}
