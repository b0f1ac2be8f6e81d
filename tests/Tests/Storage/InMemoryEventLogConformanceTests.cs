using Orleans.Jobs.Storage;
using Orleans.Jobs.Storage.InMemory;

namespace Orleans.Jobs.Tests.Storage;

/// <summary>The event log conformance suite on the embedded in-memory store.</summary>
public sealed class InMemoryEventLogConformanceTests : EventLogConformanceTests
{
    protected override Task<IEventLogStore> CreateStoreAsync() => Task.FromResult<IEventLogStore>(new InMemoryJobStore());

    /// <summary>An in-memory store's data lives in the instance, so "another silo" is the same store.</summary>
    protected override Task<IEventLogStore> OpenAnotherStoreAsync() => Task.FromResult(Store);

    /// <summary>Signals are delivered before an append returns.</summary>
    protected override Task DeliverSignalsInFlightAsync() => Task.CompletedTask;
}
