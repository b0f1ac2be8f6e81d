using Orleans.Jobs.Storage;
using Orleans.Jobs.Storage.InMemory;

namespace Orleans.Jobs.Tests.Storage;

/// <summary>The conformance suite on the embedded in-memory store.</summary>
public sealed class InMemoryStoreConformanceTests : StoreConformanceTests
{
    protected override Task<IJobStore> CreateStoreAsync() => Task.FromResult<IJobStore>(new InMemoryJobStore());
}
