using System.Text.Json.Nodes;
using Microsoft.Extensions.Time.Testing;
using Orleans.Jobs.Grains.Interfaces.Pipelines;
using Orleans.Jobs.Storage.PostgreSql;

namespace Orleans.Jobs.Tests.Storage;

/// <summary>What only the PostgreSQL pipeline store has to show: it migrates on its own, stamps its rows, and refuses what jsonb cannot hold.</summary>
public sealed class PostgresPipelineStoreTests : PostgresSchemaTest
{
    private static readonly JsonObject Data = new() { ["text"] = "hello" };

    [Fact]
    public async Task Stores_first_used_at_once_on_an_empty_schema_migrate_it_once_without_a_job_store()
    {
        var stores = Enumerable.Range(0, 6).Select(_ => new PostgresPipelineStore(TestPostgres.Options(Schema))).ToList();
        try
        {
            await Task.WhenAll(stores.Select((s, i) => s.SaveAsync(Data, new PipelineJobInfo("p", $"w{i}", 1), new JsonObject { [$"k{i}"] = i }, Ct)));

            Assert.Equal(PostgresMigrator.Migrations.Count, await TestPostgres.ScalarAsync<long>($"select count(*) from {Schema}.schema_migrations"));
            var input = await stores[0].RetrieveAsync(Data, new PipelineJobInfo("p", "join", 1), ["k0", "k5"], Ct);
            Assert.Equal(5, (int)input["k5"]!);
        }
        finally
        {
            foreach (var store in stores) await store.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_save_stamps_the_row_with_the_stores_clock()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 12, 1, 12, 0, 0, TimeSpan.Zero));
        await using var store = new PostgresPipelineStore(TestPostgres.Options(Schema), clock);
        await store.SaveAsync(Data, new PipelineJobInfo("p", "w", 1), new JsonObject { ["k"] = 1 }, Ct);
        clock.Advance(TimeSpan.FromMinutes(3));
        await store.SaveAsync(Data, new PipelineJobInfo("p", "w2", 1), new JsonObject { ["k2"] = 2 }, Ct);

        Assert.Equal(clock.GetUtcNow(), await TestPostgres.ScalarAsync<DateTime>($"select updated_at from {Schema}.pipeline_results where pipeline_id = 'p'"));
        Assert.Equal("{\"k\": 1, \"k2\": 2}", await TestPostgres.ScalarAsync<string>($"select data::text from {Schema}.pipeline_results where pipeline_id = 'p'"));
    }

    [Fact]
    public async Task A_result_jsonb_cannot_hold_is_refused_naming_the_pipeline_and_worker_and_saves_nothing()
    {
        await using var store = new PostgresPipelineStore(TestPostgres.Options(Schema));
        await store.SaveAsync(Data, new PipelineJobInfo("p", "first", 1), new JsonObject { ["kept"] = 1 }, Ct);

        var error = await Assert.ThrowsAsync<ArgumentException>(() =>
            store.SaveAsync(Data, new PipelineJobInfo("p", "binary-worker", 1), new JsonObject { ["kept"] = 2, ["bytes"] = "a\0b" }, Ct));
        Assert.Equal("result", error.ParamName);
        Assert.Contains("'binary-worker'", error.Message);
        Assert.Contains("'p'", error.Message);
        Assert.Contains("U+0000", error.Message);

        var input = await store.RetrieveAsync(Data, new PipelineJobInfo("p", "next", 1), ["kept"], Ct);
        Assert.Equal(1, (int)input["kept"]!);
    }

    [Fact]
    public async Task The_store_validates_its_options_like_the_job_store()
    {
        var error = Assert.Throws<Microsoft.Extensions.Options.OptionsValidationException>(() =>
            new PostgresPipelineStore(new PostgresStoreOptions { ConnectionString = TestPostgres.ConnectionString, Schema = "Bad-Schema" }));
        Assert.Contains("Store:Schema", error.Message);
    }
}
