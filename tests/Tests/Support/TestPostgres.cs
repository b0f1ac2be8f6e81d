using Npgsql;
using Orleans.Jobs.Storage.PostgreSql;

namespace Orleans.Jobs.Tests.Support;

/// <summary>
/// The PostgreSQL server of the test run: scripts/test starts a private one (scripts/postgres) and exports
/// OJ_PG_CONNECTION. With OJ_REQUIRE_POSTGRES=1 (scripts/test sets it) a missing server fails the tests
/// instead of skipping them.
/// </summary>
public static class TestPostgres
{
    public static string ConnectionString
    {
        get
        {
            var connection = Environment.GetEnvironmentVariable("OJ_PG_CONNECTION");
            if (!string.IsNullOrEmpty(connection)) return connection;
            const string why = "OJ_PG_CONNECTION is not set: run `scripts/postgres start` and export the connection it prints (scripts/test does both).";
            if (Environment.GetEnvironmentVariable("OJ_REQUIRE_POSTGRES") == "1") Assert.Fail(why);
            Assert.Skip(why);
            return "";
        }
    }

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
}
