using System.Text.Json.Nodes;
using Orleans.Jobs.ClusterProcess;
using Orleans.Jobs.Client.Pipelines;
using Orleans.Jobs.Grains.Interfaces.Pipelines;
using Orleans.Jobs.Silo.Sample.Pipelines;
using Orleans.Jobs.Storage.Pipelines;
using Orleans.Jobs.Storage.PostgreSql;

namespace Orleans.Jobs.Tests.Pipelines;

/// <summary>
/// Two silos with the test workers and the seed example's workers, on one job store; pipelines' results go to a
/// real pipeline store (a directory of JSON files beside the in-memory job store, a PostgreSQL table beside the
/// PostgreSQL one). Shared by the tests of one class: each test uses its own pipeline ids.
/// </summary>
public abstract class PipelineCluster : IAsyncLifetime
{
    private readonly DirectoryInfo _files = Directory.CreateTempSubdirectory("oj-pipelines-");

    protected abstract StoreKind Kind { get; }

    public JobsCluster Cluster { get; private set; } = null!;

    /// <summary>The pipeline store as a test reads it: a second instance over the same files or table.</summary>
    public IPipelineStore Results { get; private set; } = null!;

    public string? Schema { get; private set; }

    public async ValueTask InitializeAsync()
    {
        Schema = Kind == StoreKind.Postgres ? TestPostgres.NewSchema() : null;
        Results = Kind == StoreKind.Postgres ? new PostgresPipelineStore(TestPostgres.Options(Schema!)) : new FilePipelineStore(_files.FullName);
        var builder = new JobsClusterBuilder(2, Kind, Schema)
            .Set("Pipelines:ReconcilePeriod", "00:00:01")
            .Set("Pipelines:StepCheckAfter", "00:00:03")
            .Set("Workers:MaxConcurrency", "16")
            .ConfigureSilo(silo =>
            {
                TestWorkers.Register(silo);
                silo.AddSeedExampleWorkers();
                if (Kind == StoreKind.Postgres) silo.UsePipelinePostgresStore();
                else silo.UsePipelineFileStore(_files.FullName);
            });
        Cluster = builder.Build();
        await Cluster.DeployAsync();
        var directory = Cluster.Client.GetGrain<IPipelineWorkerDirectoryGrain>(0);
        await Eventually.TrueAsync(async () => (await directory.GetWorkersAsync()).Count == TestWorkers.All.Length + 3, "both silos to register their pipeline workers");
    }

    public async ValueTask DisposeAsync()
    {
        await Cluster.DisposeAsync();
        if (Results is IAsyncDisposable disposable) await disposable.DisposeAsync();
        if (Schema is not null) await TestPostgres.DropSchemaAsync(Schema);
        _files.Delete(recursive: true);
        Npgsql.NpgsqlConnection.ClearAllPools();
    }

    /// <summary>What the store holds for <paramref name="pipelineId"/> under <paramref name="keys"/>.</summary>
    public Task<JsonObject> ReadAsync(string pipelineId, params string[] keys) =>
        Results.RetrieveAsync(new JsonObject(), new PipelineJobInfo(pipelineId, "test-reader", 1), keys, TestContext.Current.CancellationToken);
}

public sealed class InMemoryPipelineCluster : PipelineCluster
{
    protected override StoreKind Kind => StoreKind.InMemory;
}

public sealed class PostgresPipelineCluster : PipelineCluster
{
    protected override StoreKind Kind => StoreKind.Postgres;
}

public sealed class InMemoryPipelineClusterTests(InMemoryPipelineCluster fixture) : PipelineClusterTests(fixture), IClassFixture<InMemoryPipelineCluster>;

public sealed class PostgresPipelineClusterTests(PostgresPipelineCluster fixture) : PipelineClusterTests(fixture), IClassFixture<PostgresPipelineCluster>;

/// <summary>Pipelines end to end on two silos: order, fan-out and fan-in, retries, failure, cancel, refusals, the finished log, scale.</summary>
public abstract class PipelineClusterTests(PipelineCluster fixture)
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);
    private readonly string _run = Guid.NewGuid().ToString("N")[..8];
    private PipelineManager Manager() => new(fixture.Cluster.Client);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>Seed → [Double, Sum], Double → Sum: a fan-out from Seed and a fan-in to Sum.</summary>
    private Pipeline ThreeSteps(long n, string? id = null) => ProofPipeline.For(n, id ?? $"{_run}-{n}");

    private static void AssertRanInOrder(PipelineStatus status)
    {
        Assert.Equal(PipelineState.Succeeded, status.State);
        var (seed, dbl, sum) = (status.Step("Seed"), status.Step("Double"), status.Step("Sum"));
        Assert.All(status.Steps, s => Assert.Equal(StepState.Done, s.State));
        Assert.True(dbl.StartedAt >= seed.FinishedAt, $"{status.Id}: Double started {dbl.StartedAt:O} before Seed finished {seed.FinishedAt:O}");
        Assert.True(sum.StartedAt >= seed.FinishedAt && sum.StartedAt >= dbl.FinishedAt, $"{status.Id}: Sum started {sum.StartedAt:O} before Seed {seed.FinishedAt:O} / Double {dbl.FinishedAt:O} finished");
        Assert.True(status.FinishedAt >= sum.FinishedAt);
    }

    [Fact]
    public async Task A_fan_out_and_fan_in_pipeline_runs_each_step_after_its_predecessors_and_the_results_land_in_the_store()
    {
        var manager = Manager();
        var pipelines = Enumerable.Range(1, 20).Select(n => ThreeSteps(n)).ToList();
        foreach (var pipeline in pipelines) await manager.StartAsync(pipeline, Ct);

        // The seed's loop: update until every pipeline is finished.
        using var deadline = new CancellationTokenSource(Deadline);
        while (pipelines.Any(p => !p.Finished)) await manager.UpdateAsync(cancellationToken: deadline.Token);

        foreach (var pipeline in pipelines)
        {
            Assert.Equal(PipelineState.Succeeded, pipeline.FinalState);
            var status = await manager.GetStatusAsync(pipeline.Id);
            AssertRanInOrder(status);
            Assert.All(status.Steps, s => Assert.Equal(1, s.Attempts));
            var n = pipeline.Data["n"]!.GetValue<long>();
            var result = await fixture.ReadAsync(pipeline.Id, "a", "b", "c");
            Assert.Equal((n, 2 * n, 3 * n), (result["a"]!.GetValue<long>(), result["b"]!.GetValue<long>(), result["c"]!.GetValue<long>()));
        }

        Assert.Equal(0, manager.InFlight);
    }

    [Fact]
    public async Task The_seeds_example_downloads_pages_from_a_local_server_and_saves_words_and_links()
    {
        await using var pages = await SamplePageServer.StartAsync(Ct);
        var manager = Manager();
        var pipelines = Enumerable.Range(0, 5).Select(n => SeedExample.PipelineFor(pages.PageUrl(n), $"{_run}-page-{n}")).ToList();
        foreach (var pipeline in pipelines) await manager.StartAsync(pipeline, Ct);

        for (var n = 0; n < pipelines.Count; n++)
        {
            var status = await manager.WaitAsync(pipelines[n], Deadline, Ct);
            Assert.True(status.State == PipelineState.Succeeded, $"{status.Id}: {status.State} {status.Error}");
            var saved = await fixture.ReadAsync(pipelines[n].Id, "content", "number_of_words", "links");
            Assert.Contains($"<p>Page {n}</p>", saved["content"]!.GetValue<string>());
            Assert.Equal(SamplePageServer.ExpectedWords(n), saved["number_of_words"]!.GetValue<int>());
            Assert.Equal(SamplePageServer.ExpectedLinks(n), saved["links"]!.AsArray().Select(l => l!.GetValue<string>()));
            Assert.All(status.Steps, s => Assert.Contains("palegreen", pipelines[n].ToDot(status)));
        }
    }

    [Fact]
    public async Task A_failing_step_is_retried_and_the_pipeline_fails_naming_the_step_after_the_last_attempt()
    {
        var manager = Manager();
        var recovers = new Pipeline(new PipelineGraph { { new Job("Flaky"), new Job("After") } },
            new Dictionary<string, object?> { ["key"] = $"{_run}-recovers", ["failures"] = 2, ["n"] = 7 }, $"{_run}-recovers", maxAttempts: 3);
        var fails = new Pipeline(new PipelineGraph { { new Job("Flaky"), new Job("After") } },
            new Dictionary<string, object?> { ["key"] = $"{_run}-fails", ["failures"] = 100, ["n"] = 7 }, $"{_run}-fails", maxAttempts: 2);
        await manager.StartAsync(recovers, Ct);
        await manager.StartAsync(fails, Ct);

        var recovered = await manager.WaitAsync(recovers, Deadline, Ct);
        Assert.Equal(PipelineState.Succeeded, recovered.State);
        Assert.Equal(3, recovered.Step("Flaky").Attempts);
        Assert.Null(recovered.Step("Flaky").Error);
        Assert.Equal(3, (await fixture.ReadAsync(recovers.Id, "flaky_runs"))["flaky_runs"]!.GetValue<int>());

        var failed = await manager.WaitAsync(fails, Deadline, Ct);
        Assert.Equal(PipelineState.Failed, failed.State);
        Assert.Equal("Flaky", failed.FailedStep);
        Assert.Contains("step 'Flaky' failed on attempt 2 of 2", failed.Error);
        Assert.Contains("flaky failure 2", failed.Error);
        Assert.Equal((StepState.Failed, 2), (failed.Step("Flaky").State, failed.Step("Flaky").Attempts));
        Assert.Equal(StepState.Cancelled, failed.Step("After").State);
        Assert.Equal(2, TestWorkers.Flaky.Runs[$"{_run}-fails"]); // never retried past the limit
        var nothing = await Assert.ThrowsAsync<MissingPipelineDataException>(() => fixture.ReadAsync(fails.Id, "a"));
        Assert.Contains("'a'", nothing.Message);
    }

    [Fact]
    public async Task Cancel_stops_pending_steps_and_lets_the_running_one_finish()
    {
        var manager = Manager();
        var gate = $"{_run}-gate";
        var pipeline = new Pipeline(new PipelineGraph { { new Job("Gate"), new Job("After") } },
            new Dictionary<string, object?> { ["gate"] = gate, ["n"] = 1 }, $"{_run}-cancel");
        await manager.StartAsync(pipeline, Ct);
        var (started, open) = TestWorkers.Gate.For(gate);
        await started.Task.WaitAsync(Deadline, Ct);

        var cancelled = await manager.CancelAsync(pipeline.Id);
        Assert.Equal(PipelineState.Cancelled, cancelled.State);
        Assert.Equal(StepState.Running, cancelled.Step("Gate").State);
        Assert.Equal(StepState.Cancelled, cancelled.Step("After").State);
        Assert.Equal(PipelineState.Cancelled, (await manager.WaitAsync(pipeline, Deadline, Ct)).State);

        open.TrySetResult();
        await Eventually.TrueAsync(async () => (await manager.GetStatusAsync(pipeline.Id)).Step("Gate").State == StepState.Done, "the running step to finish after the cancel");
        Assert.True((await fixture.ReadAsync(pipeline.Id, "gate_passed"))["gate_passed"]!.GetValue<bool>());
        var final = await manager.GetStatusAsync(pipeline.Id);
        Assert.Equal((PipelineState.Cancelled, StepState.Cancelled), (final.State, final.Step("After").State));
        await Assert.ThrowsAsync<MissingPipelineDataException>(() => fixture.ReadAsync(pipeline.Id, "a")); // After never ran
        Assert.Equal(PipelineState.Cancelled, (await manager.CancelAsync(pipeline.Id)).State); // cancelling again changes nothing
    }

    [Fact]
    public async Task Independent_branches_run_at_once()
    {
        var manager = Manager();
        var (gate, gate2) = ($"{_run}-left", $"{_run}-right");
        var pipeline = new Pipeline(new PipelineGraph
        {
            { new Job("Seed"), [new Job("Gate"), new Job("Gate2")] },
            { [new Job("Gate"), new Job("Gate2")], new Job("After") },
        }, new Dictionary<string, object?> { ["n"] = 3, ["gate"] = gate, ["gate2"] = gate2 }, $"{_run}-branches");
        await manager.StartAsync(pipeline, Ct);

        // Each branch waits for the test to open it: both can only have started if they run at the same time.
        await Task.WhenAll(TestWorkers.Gate.For(gate).Started.Task, TestWorkers.Gate.For(gate2).Started.Task).WaitAsync(Deadline, Ct);
        var running = await manager.GetStatusAsync(pipeline.Id);
        Assert.Equal((StepState.Running, StepState.Running, StepState.Pending), (running.Step("Gate").State, running.Step("Gate2").State, running.Step("After").State));

        TestWorkers.Gate.For(gate).Open.TrySetResult();
        TestWorkers.Gate.For(gate2).Open.TrySetResult();
        var done = await manager.WaitAsync(pipeline, Deadline, Ct);
        Assert.Equal(PipelineState.Succeeded, done.State);
        Assert.True(done.Step("After").StartedAt >= done.Step("Gate").FinishedAt && done.Step("After").StartedAt >= done.Step("Gate2").FinishedAt);
        var saved = await fixture.ReadAsync(pipeline.Id, "gate_passed", "gate2_passed", "a");
        Assert.Equal(3, saved["a"]!.GetValue<long>());
    }

    [Fact]
    public async Task A_pipeline_naming_an_unregistered_worker_is_refused_listing_the_registered_ones_and_leaves_nothing()
    {
        var manager = Manager();
        var pipeline = new Pipeline(new PipelineGraph { { new Job("Seed"), new Job("Nope") } }, new Dictionary<string, object?> { ["n"] = 1 }, $"{_run}-unknown");

        var e = await Assert.ThrowsAsync<ArgumentException>(() => manager.StartAsync(pipeline, Ct));
        Assert.Contains("names a worker no running silo registered: Nope", e.Message);
        Assert.Contains("Registered workers: After, Double, Downloader, Flaky, Gate, Gate2, GetLinks, GetTextAndWords, Seed, Sum", e.Message);
        Assert.Equal(PipelineState.Unknown, (await manager.GetStatusAsync(pipeline.Id)).State);
        Assert.Equal(0, manager.InFlight);
        await Assert.ThrowsAsync<KeyNotFoundException>(() => manager.WaitAsync(pipeline.Id, TimeSpan.FromSeconds(1), Ct));

        // The id is still free, and a retried start of the same pipeline is safe; another pipeline under it is refused.
        var fine = ThreeSteps(5, pipeline.Id);
        Assert.NotEqual(PipelineState.Unknown, (await manager.StartAsync(fine, Ct)).State);
        Assert.NotEqual(PipelineState.Unknown, (await manager.StartAsync(fine, Ct)).State);
        var taken = await Assert.ThrowsAsync<ArgumentException>(() => manager.StartAsync(ThreeSteps(6, pipeline.Id), Ct));
        Assert.Contains($"Pipeline id '{pipeline.Id}' is taken", taken.Message);
        AssertRanInOrder(await manager.WaitAsync(fine, Deadline, Ct));
        Assert.Equal(15, (await fixture.ReadAsync(pipeline.Id, "c"))["c"]!.GetValue<long>());
    }

    [Fact]
    public async Task Bad_calls_to_the_grain_get_clear_errors_and_change_nothing()
    {
        var grain = fixture.Cluster.Client.GetGrain<IPipelineGrain>($"{_run}-bad");
        Assert.Contains("cycle: A -> B -> A", (await Assert.ThrowsAsync<ArgumentException>(() => grain.StartAsync(new PipelineDefinition(["A", "B"], [new(0, 1), new(1, 0)], "{}")))).Message);
        Assert.Contains("empty", (await Assert.ThrowsAsync<ArgumentException>(() => grain.StartAsync(new PipelineDefinition([], [], "{}")))).Message);
        Assert.Contains("not valid JSON", (await Assert.ThrowsAsync<ArgumentException>(() => grain.StartAsync(new PipelineDefinition(["Seed"], [], "{\"n\":")))).Message);
        Assert.Contains("Pipeline id 'no/slash' is invalid", (await Assert.ThrowsAsync<ArgumentException>(() => fixture.Cluster.Client.GetGrain<IPipelineGrain>("no/slash").StartAsync(new PipelineDefinition(["Seed"], [], "{}")))).Message);
        Assert.Equal(PipelineState.Unknown, (await grain.GetStatusAsync()).State);

        // A worker reporting for a pipeline, step or run that is not current is refused without changing anything.
        var refused = await grain.BeginStepAsync("Seed", Guid.NewGuid(), 1, 1, "silo");
        Assert.False(refused.Run);
        Assert.Contains("never started", refused.Reason);
        await grain.StepSucceededAsync("Seed", Guid.NewGuid(), DateTimeOffset.UtcNow);
        Assert.Equal(PipelineState.Unknown, (await grain.GetStatusAsync()).State);
    }

    [Fact]
    public async Task The_finished_log_streams_every_finished_pipeline_and_a_reader_resumes_after_reconnecting_without_missing_one()
    {
        var first = Manager();
        var after = await first.GetFinishedHeadAsync();
        var ids = Enumerable.Range(1, 8).Select(n => $"{_run}-log-{n}").ToHashSet();
        foreach (var id in ids) await first.StartAsync(ThreeSteps(1, id), Ct);

        // A reader takes three of ours, then goes away (its cancellation is the disconnect)...
        var seen = new List<FinishedPipeline>();
        using (var reading = new CancellationTokenSource(Deadline))
        {
            await foreach (var finished in first.WatchFinishedAsync(after, reading.Token))
            {
                Assert.True(finished.Sequence > after);
                if (ids.Contains(finished.PipelineId)) seen.Add(finished);
                if (seen.Count == 3) break;
            }
        }

        // ...and resumes from its last sequence through another client: the rest arrive, none twice, none missed.
        var resumed = new PipelineManager(JobsCluster.GrainsOn(fixture.Cluster.Silos[^1]));
        using (var reading = new CancellationTokenSource(Deadline))
        {
            await foreach (var finished in resumed.WatchFinishedAsync(seen[^1].Sequence, reading.Token))
            {
                if (ids.Contains(finished.PipelineId)) seen.Add(finished);
                if (seen.Count == ids.Count) break;
            }
        }

        Assert.Equal(ids.Order(), seen.Select(f => f.PipelineId).Order());
        Assert.All(seen, f => Assert.Equal(PipelineState.Succeeded, f.State));
        Assert.Equal(seen.Select(f => f.Sequence).Order(), seen.Select(f => f.Sequence)); // in log order
        var all = new List<long>();
        await foreach (var finished in first.WatchFinishedAsync(after, Ct))
        {
            all.Add(finished.Sequence);
            if (finished.Sequence >= seen[^1].Sequence) break;
        }

        Assert.Equal(Enumerable.Range(0, all.Count).Select(i => after + 1 + i), all); // gap-free
    }

    [Fact]
    public async Task Many_clients_run_many_pipelines_at_once_and_each_learns_of_its_own()
    {
        var managers = Enumerable.Range(0, 4).Select(i => new PipelineManager(i % 2 == 0 ? fixture.Cluster.Client : JobsCluster.GrainsOn(fixture.Cluster.Silos[1]))).ToList();
        await Task.WhenAll(managers.Select(async (manager, m) =>
        {
            var pipelines = Enumerable.Range(0, 25).Select(n => ThreeSteps(100 * m + n, $"{_run}-m{m}-{n}")).ToList();
            await Task.WhenAll(pipelines.Select(p => manager.StartAsync(p, Ct)));
            using var deadline = new CancellationTokenSource(Deadline);
            while (pipelines.Any(p => !p.Finished)) await manager.UpdateAsync(cancellationToken: deadline.Token);
            Assert.All(pipelines, p => Assert.Equal(PipelineState.Succeeded, p.FinalState));
            Assert.Equal(0, manager.InFlight);
        }));
    }

    [Fact]
    public async Task A_thousand_three_step_pipelines_over_two_silos_all_finish_in_order()
    {
        var manager = Manager();
        var pipelines = Enumerable.Range(0, 1_000).Select(n => ThreeSteps(n, $"{_run}-k-{n}")).ToList();
        foreach (var chunk in pipelines.Chunk(50)) await Task.WhenAll(chunk.Select(p => manager.StartAsync(p, Ct)));

        using var deadline = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        while (pipelines.Any(p => !p.Finished)) await manager.UpdateAsync(cancellationToken: deadline.Token);

        var statuses = await Task.WhenAll(pipelines.Select(p => manager.GetStatusAsync(p.Id)));
        foreach (var status in statuses) AssertRanInOrder(status);
        var silos = statuses.SelectMany(s => s.Steps).Select(s => s.Silo).Distinct().Count();
        Assert.Equal(2, silos); // both silos ran steps
        foreach (var chunk in pipelines.Chunk(10))
        {
            await Task.WhenAll(chunk.Select(async p =>
            {
                var n = p.Data["n"]!.GetValue<long>();
                Assert.Equal(3 * n, (await fixture.ReadAsync(p.Id, "c"))["c"]!.GetValue<long>());
            }));
        }
    }
}
