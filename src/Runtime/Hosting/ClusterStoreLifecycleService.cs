using Microsoft.Extensions.Hosting;

namespace Orleans.Jobs.Runtime.Hosting;

/// <summary>Marks the store as owned by this silo: the silo stops it when it stops. Shared stores are not marked.</summary>
public sealed record OwnedClusterStore;

/// <summary>
/// Starts the store before every other silo service (schema migration, connections) and, when the silo owns it,
/// stops it after all of them.
/// </summary>
internal sealed class ClusterStoreLifecycleService(IClusterStore store, IEnumerable<OwnedClusterStore> owned) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) =>
        store is IClusterStoreLifecycle lifecycle ? lifecycle.StartAsync(cancellationToken) : Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) =>
        store is IClusterStoreLifecycle lifecycle && owned.Any() ? lifecycle.StopAsync(cancellationToken) : Task.CompletedTask;
}
