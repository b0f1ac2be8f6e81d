using Npgsql;

namespace Orleans.Jobs.Benchmarks;

/// <summary>SQL helpers on the benchmark server.</summary>
public sealed class BenchmarkDatabase(string connectionString)
{
    public string ConnectionString => connectionString;

    public async Task ExecuteAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection) { CommandTimeout = 600 };
        await command.ExecuteNonQueryAsync();
    }

    public async Task<T> ScalarAsync<T>(string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection) { CommandTimeout = 600 };
        return (T)(await command.ExecuteScalarAsync())!;
    }

    /// <summary>Creates a database on the same server if it does not exist; returns its connection string.</summary>
    public async Task<string> EnsureDatabaseAsync(string name)
    {
        if (!await ScalarAsync<bool>($"select exists (select 1 from pg_database where datname = '{name}')"))
            await ExecuteAsync($"create database {name}");
        return new NpgsqlConnectionStringBuilder(connectionString) { Database = name }.ConnectionString;
    }

    /// <summary>The server as a postgres:// URL to <paramref name="database"/>, for the Node.js drivers.</summary>
    public string Url(string database)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        return $"postgres://{builder.Username}@{builder.Host}:{builder.Port}/{database}";
    }
}
