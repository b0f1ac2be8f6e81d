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

    public virtual async ValueTask DisposeAsync() => await TestPostgres.DropSchemaAsync(Schema);
}
