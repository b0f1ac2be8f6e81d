namespace Orleans.Jobs.Tests.Support;

/// <summary>Base of tests that work on a fresh PostgreSQL schema, dropped afterwards; skips or fails up front without a server.</summary>
public abstract class PostgresSchemaTest : IAsyncLifetime
{
    protected string Schema { get; } = TestPostgres.NewSchema();

    protected static CancellationToken Ct => TestContext.Current.CancellationToken;

    public virtual ValueTask InitializeAsync()
    {
        _ = TestPostgres.ConnectionString;
        return ValueTask.CompletedTask;
    }

    public virtual async ValueTask DisposeAsync()
    {
        await TestPostgres.DropSchemaAsync(Schema);
        // Orleans' ADO.NET providers pool by connection string, and each test's differs (its search path): idle pooled
        // connections would otherwise linger for minutes and exhaust the server's connection limit.
        Npgsql.NpgsqlConnection.ClearAllPools();
    }
}
