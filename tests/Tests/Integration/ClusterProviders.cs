using Orleans.Jobs.Runtime.Storage.PostgreSql;
using Orleans.Jobs.Silo.Testing;

namespace Orleans.Jobs.Tests.Integration;

/// <summary>Makes test clusters on one store provider; scenario classes run once per provider.</summary>
public interface IClusterProvider : IAsyncLifetime
{
    TestClusterBuilder Create(int silos);
}

public sealed class InMemoryProvider : IClusterProvider
{
    public TestClusterBuilder Create(int silos) => FastCluster.Create(silos);

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}

/// <summary>PostgreSQL on a fresh schema per test; every silo gets its own store instance, as separate processes would.</summary>
public sealed class PostgresProvider : PostgresSchemaTest, IClusterProvider
{
    public TestClusterBuilder Create(int silos)
    {
        var options = TestPostgres.Options(Schema);
        return FastCluster.Create(silos, () => new PostgresClusterStore(options));
    }
}

/// <summary>Base of scenario classes that run on every provider.</summary>
public abstract class ProviderScenarios<TProvider> : IAsyncLifetime where TProvider : IClusterProvider, new()
{
    private readonly TProvider _provider = new();

    protected static CancellationToken Ct => TestContext.Current.CancellationToken;

    protected TestClusterBuilder Cluster(int silos) => _provider.Create(silos);

    public ValueTask InitializeAsync() => _provider.InitializeAsync();

    public ValueTask DisposeAsync() => _provider.DisposeAsync();
}
