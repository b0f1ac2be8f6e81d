using System.Text.Json.Nodes;
using Orleans.Jobs.Grains.Interfaces.Pipelines;

namespace Orleans.Jobs.Tests.Storage;

/// <summary>
/// The contract every shipped <see cref="IPipelineStore"/> must meet. A provider's test class derives from this and
/// creates stores on one fresh, empty backing (a directory, a schema): each store it creates plays another silo.
/// </summary>
public abstract class PipelineStoreConformanceTests : IAsyncLifetime
{
    protected static CancellationToken Ct => TestContext.Current.CancellationToken;
    protected IPipelineStore Store { get; private set; } = null!;

    /// <summary>A store on this test's backing; every call gives a new one on the same backing, as another silo would have.</summary>
    protected abstract Task<IPipelineStore> CreateStoreAsync();

    public async ValueTask InitializeAsync() => Store = await CreateStoreAsync();

    public abstract ValueTask DisposeAsync();

    protected static PipelineJobInfo Step(string worker, string pipeline = "p1") => new(pipeline, worker, 1);

    private static readonly JsonObject Data = new() { ["text"] = "hello world", ["lang"] = "en", ["options"] = new JsonObject { ["depth"] = 2 } };

    private Task<JsonObject> RetrieveAsync(string worker, params string[] requires) => Store.RetrieveAsync(Data, Step(worker), requires, Ct);

    [Fact]
    public async Task A_first_step_gets_exactly_the_keys_it_requires_from_the_pipeline_data()
    {
        var input = await RetrieveAsync("tokenizer", "text", "options");

        Assert.True(JsonNode.DeepEquals(new JsonObject { ["text"] = "hello world", ["options"] = new JsonObject { ["depth"] = 2 } }, input), input.ToJsonString());
        Assert.NotNull(Data["options"]); // copied, not taken from the caller's object
        Assert.Empty(await RetrieveAsync("nothing-needed"));
    }

    [Fact]
    public async Task Saved_results_override_the_pipeline_data_and_keep_their_values()
    {
        var result = new JsonObject
        {
            ["text"] = "HELLO WORLD",
            ["tokens"] = new JsonArray("hello", "world"),
            ["stats"] = new JsonObject { ["count"] = 2, ["ratio"] = 0.5, ["ok"] = true, ["unicode"] = "çé✓😀" },
            ["nothing"] = null,
        };
        await Store.SaveAsync(Data, Step("tokenizer"), result, Ct);

        var input = await RetrieveAsync("counter", "text", "tokens", "stats", "nothing", "lang");
        var expected = (JsonObject)result.DeepClone();
        expected["lang"] = "en";
        Assert.True(JsonNode.DeepEquals(expected, input), input.ToJsonString());
        Assert.Equal("hello world", (string?)Data["text"]); // the pipeline's data itself is never changed
    }

    [Fact]
    public async Task A_missing_key_names_itself_the_worker_the_pipeline_and_the_keys_there_are()
    {
        await Store.SaveAsync(Data, Step("tokenizer"), new JsonObject { ["tokens"] = new JsonArray() }, Ct);

        var error = await Assert.ThrowsAsync<MissingPipelineDataException>(() => RetrieveAsync("summarizer", "text", "summary", "score"));
        Assert.Contains("'summary'", error.Message);
        Assert.Contains("'score'", error.Message);
        Assert.Contains("'summarizer'", error.Message);
        Assert.Contains("'p1'", error.Message);
        Assert.Contains("Keys available: 'lang', 'options', 'text', 'tokens'.", error.Message);
    }

    [Fact]
    public async Task Saves_merge_by_top_level_key_and_the_last_write_wins()
    {
        await Store.SaveAsync(Data, Step("a"), new JsonObject { ["x"] = 1, ["shared"] = "from a" }, Ct);
        await Store.SaveAsync(Data, Step("b"), new JsonObject { ["y"] = 2, ["shared"] = "from b" }, Ct);
        await Store.SaveAsync(Data, Step("c"), [], Ct); // nothing to merge

        var input = await RetrieveAsync("reader", "x", "y", "shared");
        Assert.True(JsonNode.DeepEquals(new JsonObject { ["x"] = 1, ["y"] = 2, ["shared"] = "from b" }, input), input.ToJsonString());
    }

    [Fact]
    public async Task Concurrent_saves_of_a_pipelines_branches_from_two_silos_all_survive()
    {
        const int branches = 20;
        var otherSilo = await CreateStoreAsync();
        await Task.WhenAll(Enumerable.Range(0, branches).Select(i => Task.Run(() =>
            (i % 2 == 0 ? Store : otherSilo).SaveAsync(Data, Step($"branch-{i}"), new JsonObject { [$"k{i}"] = i }, Ct), Ct)));

        var keys = Enumerable.Range(0, branches).Select(i => $"k{i}").ToArray();
        var input = await otherSilo.RetrieveAsync(Data, Step("join"), keys, Ct);
        Assert.Equal(Enumerable.Range(0, branches), keys.Select(k => (int)input[k]!));
    }

    [Fact]
    public async Task Pipelines_do_not_see_each_others_results()
    {
        await Store.SaveAsync(Data, Step("a", "p1"), new JsonObject { ["text"] = "p1's text", ["only-p1"] = true }, Ct);

        var other = await Store.RetrieveAsync(Data, Step("a", "p2"), ["text"], Ct);
        Assert.Equal("hello world", (string?)other["text"]);
        var error = await Assert.ThrowsAsync<MissingPipelineDataException>(() => Store.RetrieveAsync(Data, Step("a", "p2"), ["only-p1"], Ct));
        Assert.Contains("'p2'", error.Message);
    }

    [Theory]
    [InlineData("../x")]
    [InlineData("a/b")]
    [InlineData(".hidden")]
    [InlineData("")]
    [InlineData("has space")]
    public async Task Invalid_pipeline_ids_are_refused_before_anything_is_read_or_written(string id)
    {
        var retrieve = await Assert.ThrowsAsync<ArgumentException>(() => Store.RetrieveAsync(Data, Step("a", id), ["text"], Ct));
        var save = await Assert.ThrowsAsync<ArgumentException>(() => Store.SaveAsync(Data, Step("a", id), new JsonObject { ["k"] = 1 }, Ct));
        foreach (var error in new[] { retrieve, save })
        {
            Assert.Equal("job", error.ParamName);
            Assert.Contains("starting with a letter or digit", error.Message);
        }
    }
}
