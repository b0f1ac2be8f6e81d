using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using Microsoft.Extensions.Options;
using System.Text.Json.Nodes;
using Orleans.Jobs.Client.JobSets;
using Orleans.Jobs.Client.Pipelines;
using Orleans.Jobs.Client.Sweeps;
using Orleans.Jobs.Grains.Interfaces.Sweeps;
using Orleans.Jobs.Client.Queues;
using Orleans.Jobs.Grains.Interfaces.Pipelines;
using Orleans.Jobs.Silo.Pipelines;
using Orleans.Jobs.Silo.Sample.Pipelines;
using Orleans.Jobs.Silo.Sample.WorkStreams;
using Orleans.Jobs.Client.WorkStreams;
using Orleans.Jobs.Storage.Pipelines;
using Orleans.Jobs.Grains.Interfaces;
using Orleans.Jobs.Silo.Gateway;
using Orleans.Jobs.Silo.Hosting;
using Orleans.Runtime;

namespace Orleans.Jobs.Silo.Sample;

/// <summary>
/// The built-in sample: every capability shipped so far, run against a live silo through Orleans (the silo's own
/// cluster client) and its HTTP gateway, with each result checked. It is the README's first command.
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
    public static void Configure(Orleans.Hosting.ISiloBuilder silo)
    {
        silo.AddJobHandler(ThumbnailQueue, async (job, ct) =>
        {
            var image = job.GetPayload<ImageJob>();
            await Task.Delay(TimeSpan.FromMilliseconds(20), ct);
            return $"{image.Name}: {image.Width / 4}x{image.Height / 4} thumbnail";
        });
        silo.AddJobHandler(FlakyQueue, (job, _) => throw new InvalidOperationException($"simulated failure on attempt {job.Attempt}"));
        silo.AddSeedExampleWorkers().UsePipelineFileStore(PipelineStoreDirectory);
        silo.AddJobHandler(SweepQueue, (job, _) =>
        {
            var p = job.GetPayload<SweepPoint>();
            return Task.FromResult<string?>($$"""{"loss":{{Math.Round(Math.Pow(p.Lr - 0.01, 2) * 1e4 + 1.0 / p.Layers, 4)}}}""");
        });
    }

    private const string SweepQueue = "sample.sweep";

    /// <summary>Where the sample's pipeline store keeps its documents (pypelinin's example wrote /tmp/N.data).</summary>
    public static string PipelineStoreDirectory => Path.Combine(Path.GetTempPath(), "orleans-jobs-sample", "pipelines");

    /// <summary>Runs the sample; true when every check passed.</summary>
    public async Task<bool> RunAsync(CancellationToken cancellationToken)
    {
        var gateway = silo.GatewayUri()!;
        var key = silo.Services.GetRequiredService<IOptions<GatewayOptions>>().Value.ClusterKey;
        var client = silo.Services.GetRequiredService<IClusterClient>();
        var total = Stopwatch.StartNew();

        try
        {
            await Step("Cluster", () => ClusterAsync(client, gateway, key));
            await Step("Queue order: send, expedite, priority, delay", () => OrderAsync(client));
            await Step("Workers: a batch of 20 jobs on the silo's handler", () => WorkersAsync(client, cancellationToken));
            await Step("Monitored job: a worker crashes and its job is redone", () => CrashAsync(client, cancellationToken));
            await Step("Unmonitored job: a crashed worker's job is not redone", () => UnmonitoredAsync(client));
            await Step("Retries and the dead-letter list", () => DeadLetterAsync(client, cancellationToken));
            await Step("Bad input gets clear errors", () => BadInputAsync(client, gateway));
            await Step("JobSet: workerbee's example, two workers and no master", () => JobSetAsync(client, cancellationToken));
            await Step("Sweep: a 2-D grid (3 learning rates x 4 depths), posted twice", () => SweepAsync(client, cancellationToken));
            await Step("Work stream: Impetus' helloworld (fork pow for 0..99, sum in stage1)", () => HelloworldAsync(client, key, cancellationToken));
            await Step("Pipeline: pypelinin's example (Downloader, then GetTextAndWords and GetLinks) on pages from a local server", () => PipelineAsync(client, cancellationToken));
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

    private async Task ClusterAsync(IClusterClient client, Uri gateway, string key)
    {
        var status = silo.Services.GetRequiredService<JobsSiloStatus>();
        var hosts = await client.GetGrain<IManagementGrain>(0).GetHosts(onlyActive: true);
        foreach (var (address, hostStatus) in hosts)
            Say($"Orleans silo {address}: {hostStatus} (node {status.Node}, {status.Store} job store, membership {status.MembershipTable})");
        var me = silo.Services.GetRequiredService<ILocalSiloDetails>().SiloAddress;
        Check(hosts.TryGetValue(me, out var state) && state == SiloStatus.Active, "this silo is active in Orleans membership");

        using var http = new HttpClient { BaseAddress = gateway };
        http.DefaultRequestHeaders.Add(GatewayProtocol.ClusterKeyHeader, key);
        var call = new GatewayCall("jobs.queue", OrderQueue, "get-counts", []);
        using var response = await http.PostAsJsonAsync(GatewayProtocol.CallPath, call, GatewayProtocol.Json);
        Say($"HTTP gateway {gateway}: POST {GatewayProtocol.CallPath} jobs.queue/get-counts -> {(int)response.StatusCode}");
        Check(response.StatusCode == HttpStatusCode.OK, "the HTTP gateway serves grain calls by alias for other languages");
    }

    private async Task OrderAsync(IClusterClient client)
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

    private async Task WorkersAsync(IClusterClient client, CancellationToken cancellationToken)
    {
        var queue = client.GetGrain<IQueueGrain>(ThumbnailQueue);
        var images = Enumerable.Range(1, 20).Select(i => new JobMessage($$"""{"name":"photo-{{i}}.jpg","width":{{800 + i}},"height":600}""")).ToList();
        var ids = await queue.SendBatchAsync(images);
        var jobs = await WaitForJobsAsync(queue, ids, JobState.Completed, cancellationToken);
        Say($"{jobs.Count(j => j.State == JobState.Completed)} of {ids.Count} completed by the silo's workers; job {ids[0]} result: \"{jobs[0].Result}\"");
        Check(jobs.All(j => j.State == JobState.Completed && j.Result is not null), "every batch job completed with a result");
    }

    private async Task CrashAsync(IClusterClient client, CancellationToken cancellationToken)
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
        if (taken is not null) await taken.AbandonAsync(); // stops heartbeating without a word: to the cluster, this worker is dead

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

    private async Task UnmonitoredAsync(IClusterClient client)
    {
        var queueName = MarbleQueue + ".unmonitored";
        var queue = client.GetGrain<IQueueGrain>(queueName);
        await queue.ConfigureAsync(new QueueSettings { LeaseDuration = TimeSpan.FromSeconds(1), MonitorPeriod = TimeSpan.FromSeconds(1) });
        var marble = new Marble(client, new MarbleOptions { Monitored = false });
        await marble.SendAsync(queueName, "fire and forget");
        var job = await marble.WaitAsync(queueName, TimeSpan.FromSeconds(5));
        Say($"unmonitored worker took job {job?.JobId} and crashes");
        // Another worker looks for work (the crashed one's own next wait would count its unfinished job as failed).
        var again = await new Marble(client, new MarbleOptions { Monitored = false }).WaitAsync(queueName, TimeSpan.FromSeconds(3));
        var counts = await queue.GetCountsAsync();
        Say($"3s later: {counts.Available} available, {counts.Running} still marked running, never redone");
        Check(again is null && counts.Running == 1, "an unmonitored job is not redone");
    }

    private async Task DeadLetterAsync(IClusterClient client, CancellationToken cancellationToken)
    {
        var queue = client.GetGrain<IQueueGrain>(FlakyQueue);
        await queue.ConfigureAsync(new QueueSettings { MaxAttempts = 3, RetryDelay = TimeSpan.FromMilliseconds(100) });
        var id = await queue.SendAsync("always fails");
        var dead = (await WaitForJobsAsync(queue, [id], JobState.DeadLettered, cancellationToken)).Single();
        Say($"job {id} failed {dead.Attempt} times and is in the dead-letter list: \"{dead.LastError}\"");
        Check(dead.JobId == id && dead.State == JobState.DeadLettered && dead.Attempt == 3, "a job that keeps failing is dead-lettered after its last attempt, not dropped");

        // Requeue on a queue no handler consumes, so what happens after the requeue is ours to see.
        var manualName = MarbleQueue + ".requeue";
        var manual = client.GetGrain<IQueueGrain>(manualName);
        await manual.ConfigureAsync(new QueueSettings { MaxAttempts = 1 });
        var marble = new Marble(client);
        var deadId = await marble.SendAsync(manualName, "fails once, then is fixed");
        await marble.WaitAsync(manualName, TimeSpan.FromSeconds(5));
        var failed = await marble.FailAsync("a bug, fixed since");
        var outcome = await manual.RequeueDeadLetterAsync(deadId);
        var requeued = await manual.GetJobAsync(deadId);
        Say($"dead-lettered ({failed.Outcome}), requeued by hand ({outcome}): state {requeued?.State}, attempt {requeued?.Attempt}");
        var retried = await marble.WaitAsync(manualName, TimeSpan.FromSeconds(5));
        if (retried is not null) await marble.FinishAsync("fixed");
        var done = await manual.GetJobAsync(deadId);
        Check(failed.Outcome == FailOutcome.DeadLettered && outcome == JobUpdateOutcome.Updated && requeued?.State == JobState.Available
              && retried?.JobId == deadId && done?.State == JobState.Completed,
            "a requeued dead letter is available again with fresh attempts, and then completes");
    }

    private async Task BadInputAsync(IClusterClient client, Uri gateway)
    {
        await ExpectError<ArgumentException>(() => client.GetGrain<IQueueGrain>("no spaces allowed!").SendAsync("x"), "a bad queue name");
        await ExpectError<ArgumentException>(() => client.GetGrain<IQueueGrain>(OrderQueue).SendAsync(new string('x', QueueLimits.MaxPayloadBytes + 1)), "an oversized payload");
        await ExpectError<ArgumentOutOfRangeException>(() => client.GetGrain<IQueueGrain>(OrderQueue).FinishAsync(-1, Guid.NewGuid()), "a bad job id");
        using var stranger = new HttpClient { BaseAddress = gateway };
        stranger.DefaultRequestHeaders.Add(GatewayProtocol.ClusterKeyHeader, "wrong-key");
        using var refused = await stranger.PostAsJsonAsync(GatewayProtocol.CallPath, new GatewayCall("jobs.queue", OrderQueue, "get-counts", []), GatewayProtocol.Json);
        Say($"the HTTP gateway with a wrong cluster key: {(int)refused.StatusCode} {refused.StatusCode}");
        Check(refused.StatusCode == HttpStatusCode.Unauthorized, "a wrong cluster key is refused");
    }

    private async Task JobSetAsync(IClusterClient client, CancellationToken cancellationToken)
    {
        var id = $"texturemap_{_run}";
        var ids = new[] { "id1", "id2", "id3", "/vol/atlas/lenna.png", "/vol/atlas/mandrill.png", "/vol/atlas/peppers.png" };
        var data = new Dictionary<string, JsonObject> { ["id1"] = new() { ["some"] = 2, ["data"] = "here" } };
        var failedOnce = 0;
        Task Job(string jobId, JsonObject jobData, CancellationToken ct)
        {
            if (jobId == "/vol/atlas/mandrill.png" && Interlocked.Exchange(ref failedOnce, 1) == 0) throw new IOException("mandrill.png is locked (fails once)");
            return Task.CompletedTask;
        }

        var verbose = new StringWriter();
        var workers = await Task.WhenAll(
            JobSet.RunAsync(client, id, Job, ids, data, new JobSetOptions { WorkerName = "bee-1", Verbose = true, Log = verbose, IdleWait = TimeSpan.FromMilliseconds(200) }, cancellationToken),
            JobSet.RunAsync(client, id, Job, ids, data, new JobSetOptions { WorkerName = "bee-2", IdleWait = TimeSpan.FromMilliseconds(200) }, cancellationToken));
        foreach (var line in verbose.ToString().TrimEnd().Split('\n')) Say(line.TrimEnd());
        foreach (var summary in workers) Say(summary.ToString());
        Check(workers.All(w => w.Completed == ids.Length && w.Failed == 0) && workers.Count(w => w.CreatedHere) == 1,
            "both workers returned when the whole set was done; one created it, the other joined");
        Check(workers.Sum(w => w.RunHere) == ids.Length + 1, "each job ran once, the failing one once more after the unclaimed work");
    }

    private async Task SweepAsync(IClusterClient client, CancellationToken cancellationToken)
    {
        var grid = new SweepGrid().Values("lr", 0.1, 0.01, 0.001).Range("layers", 1, 4);
        var first = await Sweep.PostAsync(client, SweepQueue, grid, ground: new { bestLoss = 0.25 }, description: "learning rate x layers");
        var again = await Sweep.PostAsync(client, SweepQueue, grid, description: "the same grid again");
        Say($"posted {first.Posted.Count} experiments (job hash {first.JobHash}); posting the same grid again skipped {again.AlreadyPosted.Count}");
        IReadOnlyList<SweepExperiment> experiments = [];
        var deadline = DateTime.UtcNow + Deadline;
        while (DateTime.UtcNow < deadline)
        {
            experiments = (await Sweep.GetResultsAsync(client, SweepQueue)).Where(e => first.Posted.Contains(e.Key) || again.AlreadyPosted.Contains(e.Key)).ToList();
            if (experiments.Count == grid.Count && experiments.All(e => e.State == JobState.Completed)) break;
            await Task.Delay(TimeSpan.FromMilliseconds(100), cancellationToken);
        }

        foreach (var e in experiments.OrderBy(e => e.Result).Take(3)) Say($"{e.Key}  {e.Parameters} -> {e.Result}");
        Check(experiments.Count == 12 && experiments.All(e => e.State == JobState.Completed && e.Result is not null),
            "the 12 parameter sets ran and their results are gathered per set, with submit time");
        Check((first.Posted.Count, again.Posted.Count, again.AlreadyPosted.Count) is (12, 0, 12) || (first.Posted.Count == 0 && first.AlreadyPosted.Count == 12),
            "posting the same grid twice runs no parameter set twice");
    }

    private async Task HelloworldAsync(IClusterClient client, string key, CancellationToken cancellationToken)
    {
        var tasks = Path.Combine(Path.GetTempPath(), "orleans-jobs-sample", "tasks");
        var printed = new StringWriter();
        var hello = await Helloworld.RunAsync(client, key, printed, new WorkStreamClientOptions { TaskDirectory = tasks }, cancellationToken: cancellationToken);
        foreach (var line in printed.ToString().TrimEnd().Split('\n')) Say(line.TrimEnd());
        Check(hello.Total == 328350 && hello.Errors.Count == 0, "Total: 328350 and Errors: 0, as Impetus prints");
        var ok = Path.Combine(tasks, hello.Summary.Id, "stage1.ok");
        Check(File.Exists(ok) && File.ReadLines(ok).Count() == 100, $"100 job records exported as JSON lines to {ok}");

        var fragile = await Helloworld.RunAsync(client, key, TextWriter.Null, failEvery: 10, cancellationToken: cancellationToken);
        var error = fragile.Errors.OrderBy(e => e.Job.Id, StringComparer.Ordinal).FirstOrDefault()?.Error;
        Say($"with a fork that throws for multiples of 10: {fragile.Ready} ready, {fragile.Errors.Count} errors; one: {error?.Error} (name {error?.Name}, line {error?.LineNumber?.ToString() ?? "-"}: {error?.Statement ?? "-"})");
        Check(fragile.Ready == 90 && fragile.Errors.Count == 10 && fragile.Errors.All(e => e.Error is { Name: "pow", LineNumber: not null }),
            "forks that throw land in errors with the function's name and the line they threw on");
    }

    private async Task PipelineAsync(IClusterClient client, CancellationToken cancellationToken)
    {
        await using var pages = await SamplePageServer.StartAsync(cancellationToken);
        var manager = new PipelineManager(client);
        var pipelines = Enumerable.Range(0, 3).Select(n => SeedExample.PipelineFor(pages.PageUrl(n), $"sample-{_run}-{n}")).ToList();
        foreach (var pipeline in pipelines) await manager.StartAsync(pipeline, cancellationToken);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(Deadline);
        while (pipelines.Any(p => !p.Finished)) await manager.UpdateAsync(cancellationToken: deadline.Token);
        Check(pipelines.All(p => p.FinalState == PipelineState.Succeeded), $"{pipelines.Count} pipelines finished (PipelineManager.UpdateAsync until pipeline.Finished, as in the seed)");

        var store = new FilePipelineStore(PipelineStoreDirectory);
        var found = new List<bool>();
        for (var n = 0; n < pipelines.Count; n++)
        {
            var saved = await store.RetrieveAsync([], new PipelineJobInfo(pipelines[n].Id, "sample", 1), ["number_of_words", "links"], cancellationToken);
            var words = saved["number_of_words"]!.GetValue<int>();
            var links = saved["links"]!.AsArray().Count;
            Say($"{pipelines[n].Data["url"]}: {words} words, {links} links -> {store.PathOf(pipelines[n].Id)}");
            found.Add(words == SamplePageServer.ExpectedWords(n) && links == SamplePageServer.ExpectedLinks(n).Count);
        }

        Check(found.All(ok => ok), "every page's words and links landed in the store (one JSON document per pipeline)");
        var status = await manager.GetStatusAsync(pipelines[0].Id);
        var download = status.Step("Downloader");
        Check(status.Steps.All(s => s.State == StepState.Done && s.Attempts == 1) && status.Steps.Skip(1).All(s => s.StartedAt >= download.FinishedAt),
            "each step ran once, GetTextAndWords and GetLinks after Downloader finished");
        output.WriteLine();
        output.WriteLine("   The pipeline as DOT (pipeline.ToString(); render with dot -Tsvg):");
        foreach (var line in pipelines[0].ToString().TrimEnd().Split('\n')) Say(line);
        output.WriteLine("   Coloured by step status (pipeline.ToDot(status)):");
        foreach (var line in pipelines[0].ToDot(status).TrimEnd().Split('\n')) Say(line);
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

    private sealed record SweepPoint(double Lr, int Layers);
}
