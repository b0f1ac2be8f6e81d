using System.Text.Json.Nodes;
using Orleans.Jobs.Grains.Interfaces.Pipelines;
using Orleans.Jobs.Storage.Pipelines;

namespace Orleans.Jobs.Tests.Storage;

/// <summary>The pipeline store conformance suite on <see cref="FilePipelineStore"/>, each test on a fresh directory; and what only files have to show.</summary>
public sealed class FilePipelineStoreConformanceTests : PipelineStoreConformanceTests
{
    private readonly string _root = Directory.CreateTempSubdirectory("oj-pipelines-").FullName;
    private string StoreDirectory => Path.Combine(_root, "store");
    private FilePipelineStore Files => (FilePipelineStore)Store;

    protected override Task<IPipelineStore> CreateStoreAsync() => Task.FromResult<IPipelineStore>(new FilePipelineStore(StoreDirectory));

    public override ValueTask DisposeAsync()
    {
        Directory.Delete(_root, recursive: true);
        return ValueTask.CompletedTask;
    }

    private static readonly JsonObject Data = new() { ["text"] = "hello" };

    [Theory]
    [InlineData("{\"text\": \"half a docu")]
    [InlineData("[1, 2]")]
    [InlineData("")]
    [InlineData("{\"a\": 1, \"a\": 2}")]
    public async Task A_corrupt_document_is_reported_by_name_and_left_untouched(string content)
    {
        var path = Files.PathOf("broken");
        await File.WriteAllTextAsync(path, content, Ct);

        var read = await Assert.ThrowsAsync<InvalidDataException>(() => Store.RetrieveAsync(Data, Step("a", "broken"), ["text"], Ct));
        var write = await Assert.ThrowsAsync<InvalidDataException>(() => Store.SaveAsync(Data, Step("a", "broken"), new JsonObject { ["text"] = "new" }, Ct));
        foreach (var error in new[] { read, write })
        {
            Assert.Contains(path, error.Message);
            Assert.Contains("left as it is", error.Message);
        }

        Assert.Equal(content, await File.ReadAllTextAsync(path, Ct));
    }

    [Fact]
    public async Task Ids_cannot_reach_outside_the_directory()
    {
        Assert.Throws<ArgumentException>(() => Files.PathOf("../x"));
        await Assert.ThrowsAsync<ArgumentException>(() => Store.SaveAsync(Data, Step("a", "../x"), new JsonObject { ["k"] = 1 }, Ct));
        Assert.Equal(["store"], Directory.EnumerateFileSystemEntries(_root).Select(Path.GetFileName));
        Assert.Empty(Directory.EnumerateFileSystemEntries(StoreDirectory));
    }

    [Fact]
    public async Task A_save_writes_one_readable_document_and_leaves_no_temporary_file()
    {
        await Store.SaveAsync(Data, Step("a", "doc"), new JsonObject { ["x"] = 1 }, Ct);
        await Store.SaveAsync(Data, Step("b", "doc"), new JsonObject { ["y"] = "two" }, Ct);

        var document = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(StoreDirectory, "doc.json"), Ct));
        Assert.True(JsonNode.DeepEquals(new JsonObject { ["x"] = 1, ["y"] = "two" }, document));
        Assert.Equal(["doc.json", "doc.json.lock"], Directory.EnumerateFiles(StoreDirectory).Select(Path.GetFileName).Order());
    }

    [Fact]
    public async Task A_save_waits_for_another_process_lock_and_gives_up_at_its_deadline_naming_the_file()
    {
        var store = new FilePipelineStore(StoreDirectory, lockTimeout: TimeSpan.FromMilliseconds(300));
        await store.SaveAsync(Data, Step("a", "locked"), new JsonObject { ["before"] = 1 }, Ct);
        var lockPath = store.PathOf("locked") + ".lock";

        // Another process's lock, as the store takes it: the file opened with FileShare.None.
        var held = new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        var error = await Assert.ThrowsAsync<TimeoutException>(() => store.SaveAsync(Data, Step("b", "locked"), new JsonObject { ["during"] = 2 }, Ct));
        Assert.Contains(lockPath, error.Message);

        // A save that starts while the lock is held goes through once it is released.
        var waiting = Store.SaveAsync(Data, Step("c", "locked"), new JsonObject { ["after"] = 3 }, Ct);
        Assert.False(waiting.IsCompleted);
        await held.DisposeAsync();
        await waiting.WaitAsync(Eventually.DefaultDeadline, Ct);

        var input = await store.RetrieveAsync(Data, Step("d", "locked"), ["before", "after"], Ct);
        Assert.True(JsonNode.DeepEquals(new JsonObject { ["before"] = 1, ["after"] = 3 }, input), input.ToJsonString());
        await Assert.ThrowsAsync<MissingPipelineDataException>(() => store.RetrieveAsync(Data, Step("d", "locked"), ["during"], Ct));
    }
}
