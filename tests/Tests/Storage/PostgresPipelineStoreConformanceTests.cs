using Orleans.Jobs.Grains.Interfaces.Pipelines;
using Orleans.Jobs.Storage.PostgreSql;

namespace Orleans.Jobs.Tests.Storage;

/// <summary>The pipeline store conformance suite on <see cref="PostgresPipelineStore"/>, each test on a fresh schema.</summary>
public sealed class PostgresPipelineStoreConformanceTests : PipelineStoreConformanceTests
{
    private readonly string _schema = TestPostgres.NewSchema();
    private readonly List<PostgresPipelineStore> _stores = [];

    protected override Task<IPipelineStore> CreateStoreAsync()
    {
        var store = new PostgresPipelineStore(TestPostgres.Options(_schema));
        _stores.Add(store);
        return Task.FromResult<IPipelineStore>(store);
    }

    public override async ValueTask DisposeAsync()
    {
        foreach (var store in _stores) await store.DisposeAsync();
        if (_stores.Count > 0) await TestPostgres.DropSchemaAsync(_schema);
    }
}
