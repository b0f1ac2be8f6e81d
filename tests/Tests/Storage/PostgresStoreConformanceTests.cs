using Orleans.Jobs.Storage;
using Orleans.Jobs.Storage.PostgreSql;

namespace Orleans.Jobs.Tests.Storage;

/// <summary>The conformance suite on a real PostgreSQL server, each test on a fresh schema.</summary>
public sealed class PostgresStoreConformanceTests : StoreConformanceTests
{
    private PostgresJobStore? _store;

    protected override async Task<IJobStore> CreateStoreAsync() => _store = await TestPostgres.CreateStoreAsync(clock: Clock);

    public override ValueTask DisposeAsync() => TestPostgres.DisposeAndDropAsync(_store);
}
