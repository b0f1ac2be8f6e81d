using System.Text.Json.Nodes;
using Orleans.Jobs.Client.Pipelines;
using Orleans.Jobs.Grains.Interfaces.Pipelines;

namespace Orleans.Jobs.Tests.Pipelines;

/// <summary>The client-side pipeline: building it the seed's way, validation before anything is stored, and DOT.</summary>
public sealed class PipelineModelTests
{
    private static Job J(string name) => new(name);

    [Fact]
    public void Edges_are_written_the_way_the_seed_writes_them()
    {
        var pipeline = new Pipeline(new PipelineGraph
        {
            { J("A"), J("B") },                 // one-to-one
            { J("B"), [J("C"), J("D")] },       // fan-out
            { [J("C"), J("D")], J("E") },       // fan-in
        }, new Dictionary<string, object?> { ["foo"] = "bar" });

        Assert.Equal(["A", "B", "C", "D", "E"], pipeline.Jobs.Select(j => j.WorkerName));
        Assert.Equal([("A", "B"), ("B", "C"), ("B", "D"), ("C", "E"), ("D", "E")], pipeline.Edges.Select(e => (e.From.WorkerName, e.To.WorkerName)));
        Assert.Equal("bar", pipeline.Data["foo"]!.GetValue<string>());
        Assert.Equal(["A"], PipelineRules.Roots(pipeline.ToDefinition()).Select(i => pipeline.Jobs[i].WorkerName));
        Assert.Equal(32, pipeline.Id.Length);
        Assert.Equal(new Job("A"), J("A")); // a worker is one node, as in pypelinin
        Assert.Equal("Job('A')", J("A").ToString());
    }

    [Fact]
    public void ToString_gives_the_seeds_digraph_nodes_then_edges()
    {
        var pipeline = new Pipeline(new PipelineGraph
        {
            { J("WorkerName1"), J("WorkerName2") },
            { J("WorkerName2"), J("WorkerName3") },
        });

        Assert.Equal("""
            digraph graphname {
                "WorkerName1";
                "WorkerName2";
                "WorkerName3";

                "WorkerName1" -> "WorkerName2";
                "WorkerName2" -> "WorkerName3";
            }

            """.ReplaceLineEndings("\n"), pipeline.ToString());
    }

    [Fact]
    public void A_cycle_is_refused_naming_its_nodes_in_order()
    {
        var e = Assert.Throws<ArgumentException>(() => new Pipeline(new PipelineGraph
        {
            { J("Start"), J("A") },
            { J("A"), J("B") },
            { J("B"), J("C") },
            { J("C"), J("A") },
        }));
        Assert.Contains("cycle: A -> B -> C -> A", e.Message);

        var self = Assert.Throws<ArgumentException>(() => new Pipeline(new PipelineGraph { { J("A"), J("A") } }));
        Assert.Contains("cycle: A -> A", self.Message);
    }

    [Fact]
    public void A_long_chain_is_checked_without_overflowing_the_stack()
    {
        var graph = new PipelineGraph();
        for (var i = 0; i < PipelineRules.MaxSteps - 1; i++) graph.Add(J($"w{i}"), J($"w{i + 1}"));
        Assert.Equal(PipelineRules.MaxSteps, new Pipeline(graph).Jobs.Count);

        graph.Add(J($"w{PipelineRules.MaxSteps - 1}"), J("w0"));
        var e = Assert.Throws<ArgumentException>(() => new Pipeline(graph));
        Assert.Contains($"cycle: w0 -> w1 -> w2", e.Message);
        Assert.EndsWith($"w{PipelineRules.MaxSteps - 1} -> w0.", e.Message.Split(" (Parameter")[0]);
    }

    [Fact]
    public void Empty_pipelines_duplicate_edges_and_bad_names_are_refused_by_name()
    {
        Assert.Contains("empty", Assert.Throws<ArgumentException>(() => new Pipeline(new PipelineGraph())).Message);
        Assert.Contains("The edge A -> B is given twice", Assert.Throws<ArgumentException>(() => new Pipeline(new PipelineGraph
        {
            { J("A"), J("B") },
            { J("A"), [J("B"), J("C")] },
        })).Message);
        Assert.Contains("Worker name 'Bad Name' is invalid", Assert.Throws<ArgumentException>(() => J("Bad Name")).Message);
        Assert.Contains("Worker name '' is invalid", Assert.Throws<ArgumentException>(() => J("")).Message);
        Assert.Contains("Pipeline id '../etc' is invalid", Assert.Throws<ArgumentException>(() => new Pipeline(new PipelineGraph { J("A") }, id: "../etc")).Message);
        Assert.Contains("MaxAttempts", Assert.Throws<ArgumentOutOfRangeException>(() => new Pipeline(new PipelineGraph { J("A") }, maxAttempts: 0)).Message);
    }

    [Fact]
    public void Data_that_is_not_JSON_serialisable_is_refused_naming_the_key()
    {
        var nan = Assert.Throws<ArgumentException>(() => new Pipeline(new PipelineGraph { J("A") }, new Dictionary<string, object?> { ["ok"] = 1, ["ratio"] = double.NaN }));
        Assert.Contains("data[\"ratio\"] (Double) is not JSON-serialisable", nan.Message);

        var loop = new Dictionary<string, object?>();
        loop["self"] = loop;
        var cyclic = Assert.Throws<ArgumentException>(() => new Pipeline(new PipelineGraph { J("A") }, new Dictionary<string, object?> { ["tree"] = loop }));
        Assert.Contains("data[\"tree\"]", cyclic.Message);

        var type = Assert.Throws<ArgumentException>(() => new Pipeline(new PipelineGraph { J("A") }, new Dictionary<string, object?> { ["handle"] = typeof(int) }));
        Assert.Contains("data[\"handle\"]", type.Message);

        var big = Assert.Throws<ArgumentException>(() => new Pipeline(new PipelineGraph { J("A") }, new JsonObject { ["text"] = new string('x', 1024 * 1024) }));
        Assert.Contains("the limit is 1048576", big.Message);
    }

    [Fact]
    public void The_grain_side_rules_refuse_what_a_hand_made_definition_gets_wrong()
    {
        Assert.Contains("not in the pipeline", Assert.Throws<ArgumentException>(() => PipelineRules.Validate(new PipelineDefinition(["A"], [new PipelineEdge(0, 3)], "{}"))).Message);
        Assert.Contains("appears twice", Assert.Throws<ArgumentException>(() => PipelineRules.Validate(new PipelineDefinition(["A", "A"], [], "{}"))).Message);
        Assert.Contains("must be a JSON object", Assert.Throws<ArgumentException>(() => PipelineRules.Validate(new PipelineDefinition(["A"], [], "[1]"))).Message);
        Assert.Contains("not valid JSON", Assert.Throws<ArgumentException>(() => PipelineRules.Validate(new PipelineDefinition(["A"], [], "{oops"))).Message);
    }

    [Fact]
    public async Task DOT_files_render_with_graphviz_plain_and_coloured_by_step_status()
    {
        var pipeline = new Pipeline(new PipelineGraph
        {
            { J("Downloader"), [J("GetTextAndWords"), J("GetLinks")] },
        });
        var status = new PipelineStatus
        {
            Id = pipeline.Id,
            State = PipelineState.Running,
            Steps =
            [
                new StepStatus { Worker = "Downloader", State = StepState.Done, Attempts = 1 },
                new StepStatus { Worker = "GetTextAndWords", State = StepState.Running, Attempts = 2 },
                new StepStatus { Worker = "GetLinks", State = StepState.Failed, Attempts = 3 },
            ],
        };
        var coloured = pipeline.ToDot(status);
        Assert.Contains("\"Downloader\" [style=filled, fillcolor=\"palegreen\", tooltip=\"done, 1 attempt(s)\"];", coloured);
        Assert.Contains("\"GetTextAndWords\" [style=filled, fillcolor=\"gold\"", coloured);
        Assert.Contains("\"GetLinks\" [style=filled, fillcolor=\"tomato\"", coloured);

        var directory = Directory.CreateTempSubdirectory("oj-dot-");
        try
        {
            var plainFile = Path.Combine(directory.FullName, "plain.dot");
            var colouredFile = Path.Combine(directory.FullName, "coloured.dot");
            await pipeline.SaveDotAsync(plainFile, cancellationToken: TestContext.Current.CancellationToken);
            await pipeline.SaveDotAsync(colouredFile, status, TestContext.Current.CancellationToken);
            Assert.Equal(pipeline.ToString(), await File.ReadAllTextAsync(plainFile, TestContext.Current.CancellationToken));

            var plainSvg = await TestGraphviz.RenderSvgAsync(plainFile, TestContext.Current.CancellationToken);
            var colouredSvg = await TestGraphviz.RenderSvgAsync(colouredFile, TestContext.Current.CancellationToken);
            foreach (var svg in new[] { plainSvg, colouredSvg })
            {
                Assert.Contains("<svg", svg);
                Assert.Contains(">Downloader</text>", svg);
                Assert.Contains(">GetLinks</text>", svg);
                Assert.Equal(2, svg.Split("class=\"edge\"").Length - 1);
            }

            Assert.Contains("fill=\"palegreen\"", colouredSvg);
            Assert.Contains("fill=\"tomato\"", colouredSvg);
            Assert.DoesNotContain("fill=\"palegreen\"", plainSvg);
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }
}
