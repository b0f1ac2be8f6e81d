using Orleans.Jobs.Runtime.Storage;

namespace Orleans.Jobs.Runtime.Storage.InMemory;

/// <summary>
/// The embedded store: everything in this process's memory. It serves every silo of one process (as TestCluster
/// runs them) and loses everything when the process ends; use the PostgreSQL provider for durability.
/// </summary>
public sealed partial class InMemoryClusterStore : IClusterStore
{
    private readonly KeyedAsyncLock<GrainId> _turnLocks = new();

    /// <inheritdoc />
    public string ProviderName => "in-memory";

    /// <inheritdoc />
    public Task<IAsyncDisposable> AcquireTurnAsync(GrainId grain, CancellationToken cancellationToken) =>
        _turnLocks.AcquireAsync(grain, cancellationToken);
}
