namespace Orleans.Jobs.Storage.InMemory;

/// <summary>
/// The embedded job store: every job in this process's memory. It serves every silo of one process (as an in-process
/// TestCluster runs them, see <see cref="InMemoryJobStores"/>) and loses everything when the process ends; use the
/// PostgreSQL provider for durability and for silos in several processes.
/// </summary>
public sealed partial class InMemoryJobStore : IJobStore
{
    /// <inheritdoc />
    public string ProviderName => "in-memory";
}

/// <summary>
/// The in-memory stores of this process, one per Orleans service id: silos of one service in one process (an
/// in-process TestCluster, or several silos in one test) share their jobs the way silos on a database do.
/// </summary>
public static class InMemoryJobStores
{
    private static readonly Dictionary<string, InMemoryJobStore> Stores = new(StringComparer.Ordinal);

    /// <summary>The store of <paramref name="serviceId"/>, created on first use.</summary>
    public static InMemoryJobStore ForService(string serviceId)
    {
        lock (Stores)
        {
            if (!Stores.TryGetValue(serviceId, out var store))
                Stores[serviceId] = store = new InMemoryJobStore();
            return store;
        }
    }
}
