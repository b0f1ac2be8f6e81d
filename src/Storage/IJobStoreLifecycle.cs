namespace Orleans.Jobs.Storage;

/// <summary>
/// Implemented by stores that must be started before use and stopped after (connections, schema migration,
/// background loops). The silo starts the store before anything else and stops it after everything else.
/// </summary>
public interface IJobStoreLifecycle
{
    /// <summary>Prepares the store; idempotent.</summary>
    Task StartAsync(CancellationToken cancellationToken);

    /// <summary>Flushes and releases what the store holds.</summary>
    Task StopAsync(CancellationToken cancellationToken);
}
