using System.Text.Json;
using Orleans.Jobs.Client.WorkStreams;
using Orleans.Jobs.Grains.Interfaces.Code;
using Orleans.Jobs.Grains.Interfaces.WorkStreams;
using Orleans.Jobs.Silo.Sample.WorkStreams;

namespace Orleans.Jobs.Tests.WorkStreams;

public sealed class InMemoryWorkStreamClusterTests(InMemoryWorkStreamCluster fixture) : WorkStreamClusterTests(fixture), IClassFixture<InMemoryWorkStreamCluster>;

public sealed class PostgresWorkStreamClusterTests(PostgresWorkStreamCluster fixture) : WorkStreamClusterTests(fixture), IClassFixture<PostgresWorkStreamCluster>;

/// <summary>Work streams end to end on two silos: Impetus' helloworld, its failing variant, the exported records, clients reattaching after their run was cancelled; the nodes (<c>.Nodes.cs</c>) and refusals (<c>.Refusals.cs</c>).</summary>
public abstract partial class WorkStreamClusterTests(WorkStreamCluster fixture)
{
    private static readonly TimeSpan StallTimeout = TimeSpan.FromSeconds(60);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private IGrainFactory Grains => fixture.Cluster.Client;

    private static string NewId(string what) => $"{what}-{Guid.NewGuid():N}";

    [Fact]
    public async Task Helloworld_prints_Total_328350_and_Errors_0_and_exports_100_records_in_Impetus_job_layout()
    {
        var tasks = Directory.CreateTempSubdirectory("oj-work-streams-");
        try
        {
            var printed = new StringWriter();
            var before = DateTimeOffset.UtcNow;
            var outcome = await Helloworld.RunAsync(Grains, WorkStreamCluster.ClusterKey, printed,
                new WorkStreamClientOptions { TaskDirectory = tasks.FullName, StallTimeout = StallTimeout }, cancellationToken: Ct);
            var after = DateTimeOffset.UtcNow;

            Assert.Equal((328350L, 100, 0), (outcome.Total, outcome.Ready, outcome.Errors.Count));
            var id = outcome.Summary.Id;
            var lines = printed.ToString().Split(Environment.NewLine);
            Assert.Equal($"My Id: {id}", lines[0]);
            Assert.Contains("Total: 328350", lines);
            Assert.Contains("Errors: 0", lines);
            Assert.Contains("thread: start 100/0 -> stage1 0/100 via stage1", lines);
            Assert.Contains("shutting down", lines);
            Assert.Equal((false, 100L, 0L), (outcome.Summary.Reattached, outcome.Summary.Ready, outcome.Summary.Errors));
            var progress = outcome.Summary.Progress;
            Assert.True(progress.Closed);
            Assert.Equal(
                new[] { new StageProgress("start", 100, 0, 0, 0, true), new StageProgress("stage1", 0, 100, 100, 100, true) },
                progress.Stages);

            // stage1.ok: one JSON line per fork in Impetus' job layout, the posted code named by the hash of its file.
            var code = PostedCodeRules.HashOf(await File.ReadAllBytesAsync(typeof(Helloworld).Assembly.Location, Ct));
            var ok = await File.ReadAllLinesAsync(Path.Combine(tasks.FullName, id, "stage1.ok"), Ct);
            Assert.Equal(100, ok.Length);
            var ordinals = new HashSet<int>();
            foreach (var line in ok)
            {
                using var json = JsonDocument.Parse(line);
                var job = json.RootElement;
                var forkId = job.GetProperty("id").GetString()!;
                Assert.StartsWith("start/", forkId);
                var ordinal = int.Parse(forkId["start/".Length..], System.Globalization.CultureInfo.InvariantCulture);
                Assert.True(ordinals.Add(ordinal), $"fork {forkId} is exported twice");
                Assert.Equal("Pow", job.GetProperty("name").GetString());
                Assert.Equal("ready", job.GetProperty("status").GetString());
                Assert.InRange(job.GetProperty("created").GetDateTimeOffset(), before.AddSeconds(-5), after.AddSeconds(5));
                Assert.Equal(ordinal, job.GetProperty("args").GetInt32()); // forks are numbered in the order the stage made them: Pow(i) is fork i
                Assert.Equal(0, job.GetProperty("delay").GetDouble());
                Assert.Equal("stage1", job.GetProperty("callback").GetString());
                Assert.Equal(id, job.GetProperty("client").GetString());
                Assert.Equal(ordinal * ordinal, job.GetProperty("result").GetInt32());
                Assert.Equal(code, job.GetProperty("code").GetString());
                Assert.Equal($"{typeof(Helloworld).FullName}.{nameof(Helloworld.Pow)}", job.GetProperty("function").GetString());
            }

            Assert.Equal(Enumerable.Range(0, 100), ordinals.Order());
            Assert.Empty(await File.ReadAllLinesAsync(Path.Combine(tasks.FullName, id, "stage1.err"), Ct));
            Assert.Empty(await File.ReadAllLinesAsync(Path.Combine(tasks.FullName, id, "start.ok"), Ct)); // nothing forks to the startup stage
        }
        finally
        {
            tasks.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Helloworld_with_throwing_forks_lands_exactly_the_multiples_in_errors_with_the_function_name()
    {
        var tasks = Directory.CreateTempSubdirectory("oj-work-streams-");
        try
        {
            var outcome = await Helloworld.RunAsync(Grains, WorkStreamCluster.ClusterKey, TextWriter.Null,
                new WorkStreamClientOptions { TaskDirectory = tasks.FullName, StallTimeout = StallTimeout }, failEvery: 7, cancellationToken: Ct);

            var multiples = Enumerable.Range(0, 100).Where(i => i % 7 == 0).ToList();
            var others = Enumerable.Range(0, 100).Except(multiples).ToList();
            Assert.Equal((others.Sum(i => (long)i * i), others.Count), (outcome.Total, outcome.Ready));
            Assert.Equal((85L, 15L), (outcome.Summary.Ready, outcome.Summary.Errors));
            Assert.Equal(multiples, outcome.Errors.Select(e => JsonDocument.Parse(e.Job.Args).RootElement.GetProperty("i").GetInt32()).Order());
            var function = $"{typeof(Helloworld).FullName}.{nameof(Helloworld.PowUnlessMultiple)}";
            Assert.All(outcome.Errors, e =>
            {
                Assert.Equal((ForkStatus.Error, null, "pow", function), (e.Status, e.Result, e.Error!.Name, e.Job.Function));
                Assert.EndsWith("is a multiple of 7", e.Error.Error);
                // Impetus' error structure: where it threw, from the posted code's symbols.
                Assert.Equal(("System.InvalidOperationException", $"{nameof(Helloworld)}.{nameof(Helloworld.PowUnlessMultiple)}"), (e.Error.ExceptionType, e.Error.Frame));
                Assert.NotNull(e.Error.LineNumber);
                Assert.Contains("throw new InvalidOperationException", e.Error.Statement);
                Assert.Equal(1, e.Attempt); // a function that throws is not run again, as in Impetus
            });

            var err = await File.ReadAllLinesAsync(Path.Combine(tasks.FullName, outcome.Summary.Id, "stage1.err"), Ct);
            Assert.Equal(15, err.Length);
            Assert.All(err, line =>
            {
                using var json = JsonDocument.Parse(line);
                Assert.Equal("error", json.RootElement.GetProperty("status").GetString());
                var error = json.RootElement.GetProperty("result");
                Assert.Equal("pow", error.GetProperty("name").GetString());
                Assert.Contains("is a multiple of 7", error.GetProperty("error").GetString());
                Assert.True(error.GetProperty("linenumber").GetInt32() > 0);
                Assert.Contains("throw", error.GetProperty("statement").GetString());
            });
            Assert.Equal(85, (await File.ReadAllLinesAsync(Path.Combine(tasks.FullName, outcome.Summary.Id, "stage1.ok"), Ct)).Length);
        }
        finally
        {
            tasks.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task A_client_cancelled_mid_stage_reattaches_by_id_and_receives_exactly_the_records_it_had_not_acknowledged()
    {
        var id = NewId("reattach");
        var startups = 0;
        var handled = new List<(int Run, ForkRecord Record)>();
        WorkStreamClient Client(int run, CancellationTokenSource? cancelOnceThirtyHandled) => new WorkStreamClient(Grains, WorkStreamCluster.ClusterKey,
                new WorkStreamClientOptions { Id = id, StageBatchSize = 10, StallTimeout = StallTimeout, Log = TextWriter.Null })
            .Startup("start", async stage =>
            {
                startups++;
                for (var i = 0; i < 100; i++) await stage.ForkAsync(ForkProbes.Square, i);
            })
            .Process("stage1", (stage, ready, errors) =>
            {
                if (cancelOnceThirtyHandled is not null && handled.Count >= 30)
                {
                    // The run is cancelled while this batch is being handled: the batch is not handled, so not acknowledged.
                    cancelOnceThirtyHandled.Cancel();
                    stage.CancellationToken.ThrowIfCancellationRequested();
                }

                handled.AddRange(ready.Concat(errors).Select(r => (run, r)));
                return Task.CompletedTask;
            });

        using (var cancel = CancellationTokenSource.CreateLinkedTokenSource(Ct))
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Client(1, cancel).RunAsync(cancel.Token));
        var stream = Grains.GetGrain<IWorkStreamGrain>(id);
        var progress = await stream.GetProgressAsync();
        Assert.Equal((100L, true), (progress.Stages[0].Forked, progress.Stages[0].Complete));
        Assert.Equal((100L, false), (progress.Stages[1].Expected, progress.Stages[1].Complete));
        var acknowledged = handled.Count;
        Assert.InRange(acknowledged, 30, 99);
        Assert.Equal(Enumerable.Range(1, acknowledged).Select(s => (long)s), handled.Select(h => h.Record.Sequence)); // whole batches, in order
        Assert.Equal(acknowledged, progress.Stages[1].Taken);

        var summary = await Client(2, null).RunAsync(Ct);

        Assert.True(summary.Reattached);
        Assert.Equal(1, startups); // the finished startup stage is not run again, so nothing is forked twice
        Assert.Equal(100, summary.Progress.Stages[0].Forked);
        Assert.Equal((100L - acknowledged, 0L), (summary.Ready, summary.Errors));
        var second = handled.Where(h => h.Run == 2).Select(h => h.Record.Sequence);
        Assert.Equal(Enumerable.Range(acknowledged + 1, 100 - acknowledged).Select(s => (long)s), second); // exactly what the first run had not acknowledged
        Assert.Equal(Enumerable.Range(0, 100).Select(i => $"start/{i}").Order(StringComparer.Ordinal), handled.Select(h => h.Record.Job.Id).Order(StringComparer.Ordinal));
        Assert.All(handled, h =>
        {
            var i = int.Parse(h.Record.Job.Args, System.Globalization.CultureInfo.InvariantCulture);
            Assert.Equal(i * i, h.Record.ResultAs<int>());
        });
        Assert.Equal((100L, 100L, true), (summary.Progress.Stages[1].Received, summary.Progress.Stages[1].Taken, summary.Progress.Closed));
    }

    [Fact]
    public async Task A_batched_stage_that_forks_and_is_cancelled_forks_each_record_exactly_once_across_the_reattach()
    {
        var id = NewId("refork");
        var forkedByStage1 = 0;
        var results = new List<ForkRecord>();
        WorkStreamClient Client(CancellationTokenSource? cancelOnceTwentyForked) => new WorkStreamClient(Grains, WorkStreamCluster.ClusterKey,
                new WorkStreamClientOptions { Id = id, StageBatchSize = 10, StallTimeout = StallTimeout, Log = TextWriter.Null })
            .Startup("start", async stage =>
            {
                for (var i = 0; i < 40; i++) await stage.ForkAsync(ForkProbes.Square, i);
            })
            .Process("stage1", async (stage, ready, errors) =>
            {
                foreach (var record in ready) await stage.ForkAsync(ForkProbes.Square, record.ResultAs<int>());
                if (cancelOnceTwentyForked is not null && forkedByStage1 >= 20)
                {
                    // This batch's forks reach the stream, then the run is cancelled before the batch is acknowledged:
                    // the rerun handles the batch again and must not fork it twice.
                    await stage.FlushAsync();
                    await cancelOnceTwentyForked.CancelAsync();
                    stage.CancellationToken.ThrowIfCancellationRequested();
                }

                forkedByStage1 += ready.Count;
            })
            .Process("stage2", (stage, ready, errors) =>
            {
                results.AddRange(ready.Concat(errors));
                return Task.CompletedTask;
            });

        using (var cancel = CancellationTokenSource.CreateLinkedTokenSource(Ct))
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Client(cancel).RunAsync(cancel.Token));
        var summary = await Client(null).RunAsync(Ct);

        Assert.True(summary.Reattached);
        Assert.Equal(Enumerable.Range(0, 40).Select(i => i * i * i * i), results.Select(r => r.ResultAs<int>()).Order());
        Assert.Equal(40, results.Select(r => r.Job.Id).Distinct().Count());
        Assert.Equal((40L, 40L, 40L), (summary.Progress.Stages[1].Forked, summary.Progress.Stages[2].Expected, summary.Progress.Stages[2].Received));
    }
}
