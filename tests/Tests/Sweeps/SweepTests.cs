using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Orleans.Jobs.Client.Sweeps;
using Orleans.Jobs.Grains.Interfaces;
using Orleans.Jobs.Grains.Interfaces.Sweeps;
using Orleans.Jobs.Silo.Hosting;

namespace Orleans.Jobs.Tests.Sweeps;

/// <summary>Grids, JobMon's hashing, and sweeps on two silos: identical parameter sets never run twice.</summary>
public sealed class SweepTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public void A_grid_is_every_combination_first_axis_slowest_in_any_number_of_dimensions()
    {
        var grid = new SweepGrid().Values("model", "linear", "forest").Range("depth", 1, 5, 2).Linear("lr", 0, 1, 3);
        var sets = grid.ParameterSets().Select(p => JsonNode.Parse(p.Parameters)!.AsObject()).ToList();

        Assert.Equal(2 * 3 * 3, grid.Count);
        Assert.Equal(18, sets.Count);
        Assert.Equal(["depth", "lr", "model"], sets[0].Select(p => p.Key)); // canonical: keys sorted
        Assert.Equal(("linear", 1L, 0.0), (sets[0]["model"]!.GetValue<string>(), sets[0]["depth"]!.GetValue<long>(), sets[0]["lr"]!.GetValue<double>()));
        Assert.Equal(0.5, sets[1]["lr"]!.GetValue<double>());
        Assert.Equal(3L, sets[3]["depth"]!.GetValue<long>());
        Assert.Equal(("forest", 5L, 1.0), (sets[^1]["model"]!.GetValue<string>(), sets[^1]["depth"]!.GetValue<long>(), sets[^1]["lr"]!.GetValue<double>()));
        Assert.Equal(18, sets.Select(s => s.ToJsonString()).Distinct().Count());
        Assert.Equal([5L, 3L, 1L], new SweepGrid().Range("down", 5, 1, -2).ParameterSets().Select(p => JsonNode.Parse(p.Parameters)!["down"]!.GetValue<long>()));
    }

    [Fact]
    public void Identical_parameter_sets_hash_the_same_whatever_their_key_order_and_keys_follow_jobmon()
    {
        var a = SweepRules.Canonical("""{"b": 2, "a": {"y": 1, "x": [3, {"q": 1, "p": 2}]}}""");
        var b = SweepRules.Canonical("""{"a": {"x": [3, {"p": 2, "q": 1}], "y": 1}, "b": 2}""");
        Assert.Equal(a, b);
        Assert.Equal(SweepRules.ParameterHash(a), SweepRules.ParameterHash(b));
        Assert.NotEqual(SweepRules.ParameterHash(a), SweepRules.ParameterHash(SweepRules.Canonical("""{"b": 3, "a": {"x": [3, {"p": 2, "q": 1}], "y": 1}}""")));
        Assert.Matches("^[0-9a-f]{16}\\|[0-9a-f]{16}$", SweepRules.ExperimentKey(SweepRules.JobHash("train"), SweepRules.ParameterHash(a)));
    }

    [Fact]
    public void Bad_grids_are_refused_naming_the_problem()
    {
        Assert.Contains("no values", Assert.Throws<ArgumentException>(() => new SweepGrid().Values<int>("x")).Message);
        Assert.Contains("already an axis", Assert.Throws<ArgumentException>(() => new SweepGrid().Values("x", 1).Values("x", 2)).Message);
        Assert.Contains("empty or endless", Assert.Throws<ArgumentException>(() => new SweepGrid().Range("x", 1, 5, -1)).Message);
        Assert.Contains("empty or endless", Assert.Throws<ArgumentException>(() => new SweepGrid().Range("x", 1, 5, 0)).Message);
        Assert.Contains("finite", Assert.Throws<ArgumentException>(() => new SweepGrid().Linear("x", double.NaN, 1, 3)).Message);
        Assert.Contains("not JSON-serialisable", Assert.Throws<ArgumentException>(() => new SweepGrid().Values("x", double.PositiveInfinity)).Message);
        Assert.Contains("at most 100000", Assert.Throws<ArgumentException>(() => new SweepGrid().Range("a", 1, 1000).Range("b", 1, 1000)).Message);
        Assert.Contains("must be a JSON object", Assert.Throws<ArgumentException>(() => SweepRules.Canonical("[1, 2]")).Message);
    }

    [Fact]
    public async Task A_3x4_sweep_posted_twice_runs_its_12_parameter_sets_once_each_and_gathers_their_results()
    {
        var runs = new ConcurrentDictionary<string, int>();
        await using var cluster = new JobsClusterBuilder(2, StoreKind.InMemory)
            .ConfigureSilo(silo => silo.AddJobHandler("train", (job, _) =>
            {
                runs.AddOrUpdate(job.Payload, 1, (_, n) => n + 1);
                var p = JsonNode.Parse(job.Payload)!;
                return Task.FromResult<string?>($$"""{"score":{{p["lr"]!.GetValue<double>() * p["layers"]!.GetValue<long>()}}}""");
            }))
            .Build();
        await cluster.DeployAsync();
        var grid = new SweepGrid().Values("lr", 0.1, 0.01, 0.001).Range("layers", 1, 4);

        var first = await Sweep.PostAsync(cluster.Client, "train", grid, ground: new { accuracy = 0.93 }, description: "lr x layers");
        var second = await Sweep.PostAsync(cluster.Client, "train", grid, description: "the same grid again");
        var wider = await Sweep.PostAsync(cluster.Client, "train", new SweepGrid().Values("layers", 4, 5).Values("lr", 0.1));

        Assert.Equal((12, 0), (first.Posted.Count, first.AlreadyPosted.Count));
        Assert.Equal((0, 12), (second.Posted.Count, second.AlreadyPosted.Count));
        Assert.Equal(first.Posted.Order(), second.AlreadyPosted.Order());
        Assert.Equal((1, 1), (wider.Posted.Count, wider.AlreadyPosted.Count)); // {layers 4, lr 0.1} was in the grid already
        Assert.All(first.Posted, key => Assert.StartsWith(first.JobHash + "|", key));

        IReadOnlyList<SweepExperiment> experiments = [];
        await Eventually.TrueAsync(async () =>
        {
            experiments = await Sweep.GetResultsAsync(cluster.Client, "train");
            return experiments.Count == 13 && experiments.All(e => e.State == JobState.Completed);
        }, "every experiment to complete");

        Assert.Equal(13, runs.Count);
        Assert.All(runs, r => Assert.Equal(1, r.Value));
        var one = experiments.Single(e => e.Parameters == """{"layers":2,"lr":0.01}""");
        Assert.Equal(0.02, JsonNode.Parse(one.Result!)!["score"]!.GetValue<double>(), 6);
        Assert.Equal("""{"accuracy":0.93}""", one.Ground);
        Assert.Equal("lr x layers", one.Description);
        Assert.True(one.SubmittedAt > DateTimeOffset.UtcNow.AddMinutes(-5));
        Assert.Null(experiments[^1].Ground);
    }

    [Fact]
    public async Task Bad_postings_are_refused_and_post_nothing()
    {
        await using var cluster = new JobsClusterBuilder(1, StoreKind.InMemory).Build();
        await cluster.DeployAsync();
        var sweep = cluster.Client.GetGrain<ISweepGrain>("sweep-bad");
        Assert.Contains("Queue name 'bad name' is invalid", (await Assert.ThrowsAsync<ArgumentException>(() => cluster.Client.GetGrain<ISweepGrain>("bad name").PostAsync([new("{}")], null, null))).Message);
        Assert.Contains("1 to 100000 parameter sets", (await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => sweep.PostAsync([], null, null))).Message);
        Assert.Contains("must be a JSON object", (await Assert.ThrowsAsync<ArgumentException>(() => sweep.PostAsync([new("""{"a":1}"""), new("42")], null, null))).Message);
        Assert.Contains("not valid JSON", (await Assert.ThrowsAsync<ArgumentException>(() => sweep.PostAsync([new("""{"a":1}""")], "{oops", null))).Message);
        Assert.Contains("description", (await Assert.ThrowsAsync<ArgumentException>(() => sweep.PostAsync([new("""{"a":1}""")], null, new string('d', 1001)))).Message);
        Assert.Contains("no axes", (await Assert.ThrowsAsync<ArgumentException>(() => Sweep.PostAsync(cluster.Client, "sweep-bad", new SweepGrid()))).Message);
        Assert.Empty(await sweep.GetExperimentsAsync());
        Assert.Equal(new QueueCounts(0, 0, 0, 0, 0), await cluster.Client.GetGrain<IQueueGrain>("sweep-bad").GetCountsAsync());
    }
}
