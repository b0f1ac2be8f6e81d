using Orleans.Jobs.Storage;
using Orleans.Jobs.Storage.InMemory;

namespace Orleans.Jobs.Tests.Storage;

/// <summary>The event log conformance suite on the embedded in-memory store.</summary>
public sealed class InMemoryEventLogConformanceTests : EventLogConformanceTests
{
    protected override Task<IEventLogStore> CreateStoreAsync() => Task.FromResult<IEventLogStore>(new InMemoryJobStore());
}
