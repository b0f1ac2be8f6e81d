namespace Orleans.Jobs.Tests.Support;

/// <summary>
/// A test cluster on one job store, shared by the tests of a class (an xUnit class fixture): on PostgreSQL it gets a
/// fresh schema, dropped when the class is done. Subclasses pick the store and add their settings.
/// </summary>
public abstract class StoreClusterFixture : IAsyncLifetime
{
    protected abstract StoreKind Kind { get; }

    protected virtual int SiloCount => 2;

    public JobsCluster Cluster { get; private set; } = null!;

    public string? Schema { get; private set; }

    /// <summary>Adds the class's settings to the cluster about to be built.</summary>
    protected abstract JobsClusterBuilder Configure(JobsClusterBuilder builder);

    public async ValueTask InitializeAsync()
    {
        Schema = Kind == StoreKind.Postgres ? TestPostgres.NewSchema() : null;
        Cluster = Configure(new JobsClusterBuilder(SiloCount, Kind, Schema)).Build();
        await Cluster.DeployAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await Cluster.DisposeAsync();
        if (Schema is not null) await TestPostgres.DropSchemaAsync(Schema);
        Npgsql.NpgsqlConnection.ClearAllPools();
    }
}
