using Npgsql;
using Orleans.Jobs.Storage.PostgreSql;

namespace Orleans.Jobs.Tests.Support;

/// <summary>The PostgreSQL server of the test run (scripts/postgres), and helpers for tests on fresh schemas.</summary>
public static class TestPostgres
{
    public static string ConnectionString => TestServers.Required("OJ_PG_CONNECTION", "OJ_REQUIRE_POSTGRES", "scripts/postgres");

    /// <summary>A fresh schema name, so tests never see each other's rows.</summary>
    public static string NewSchema() => $"t_{Guid.NewGuid():N}"[..20];

    public static PostgresStoreOptions Options(string schema, string? connectionString = null) => new()
    {
        ConnectionString = connectionString ?? ConnectionString,
        Schema = schema,
        PollInterval = TimeSpan.FromMilliseconds(500),
    };

    /// <summary>A started store on a fresh schema.</summary>
    public static async Task<PostgresJobStore> CreateStoreAsync(string? schema = null, TimeProvider? clock = null)
    {
        var store = new PostgresJobStore(Options(schema ?? NewSchema()), clock);
        await store.StartAsync(CancellationToken.None);
        return store;
    }

    /// <summary>Disposes a store from <see cref="CreateStoreAsync"/> and drops its schema; does nothing when there is none.</summary>
    public static async ValueTask DisposeAndDropAsync(PostgresJobStore? store)
    {
        if (store is null) return;
        await store.DisposeAsync();
        await DropSchemaAsync(store.Options.Schema);
    }

    public static async Task DropSchemaAsync(string schema)
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"drop schema if exists {schema} cascade", connection);
        await command.ExecuteNonQueryAsync();
    }

    public static async Task<T> ScalarAsync<T>(string sql)
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return (T)(await command.ExecuteScalarAsync())!;
    }

    public static async Task ExecuteAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}
