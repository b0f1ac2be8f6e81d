using Orleans.Jobs.Runtime;
using Orleans.Jobs.Runtime.Storage.InMemory;

namespace Orleans.Jobs.Tests.Storage;

/// <summary>The conformance suite on the embedded in-memory store.</summary>
public sealed class InMemoryStoreConformanceTests : StoreConformanceTests
{
    protected override Task<IClusterStore> CreateStoreAsync() => Task.FromResult<IClusterStore>(new InMemoryClusterStore());
}
