namespace Orleans.Jobs.Tests.Integration;

/// <summary>Makes test clusters on one job store; scenario classes run once per store.</summary>
public interface IClusterProvider : IAsyncLifetime
{
    JobsClusterBuilder Create(int silos);
}

public sealed class InMemoryProvider : IClusterProvider
{
    public JobsClusterBuilder Create(int silos) => new(silos, StoreKind.InMemory);

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}

/// <summary>PostgreSQL on a fresh schema per test (jobs, grain state and reminders); every silo has its own store instance, as separate processes would.</summary>
public sealed class PostgresProvider : PostgresSchemaTest, IClusterProvider
{
    public JobsClusterBuilder Create(int silos) => new(silos, StoreKind.Postgres, Schema);
}

/// <summary>Base of scenario classes that run on every job store.</summary>
public abstract class ProviderScenarios<TProvider> : IAsyncLifetime where TProvider : IClusterProvider, new()
{
    private readonly TProvider _provider = new();

    protected static CancellationToken Ct => TestContext.Current.CancellationToken;

    protected JobsClusterBuilder Cluster(int silos) => _provider.Create(silos);

    public ValueTask InitializeAsync() => _provider.InitializeAsync();

    public ValueTask DisposeAsync() => _provider.DisposeAsync();
}
