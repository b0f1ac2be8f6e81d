using Npgsql;

namespace Orleans.Jobs.Benchmarks;

/// <summary>Runs the statements of <see cref="BenchmarkSql"/> on the benchmark server.</summary>
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

    /// <summary>The first row of a query, read by <paramref name="read"/>.</summary>
    public async Task<T> RowAsync<T>(string sql, Func<NpgsqlDataReader, T> read)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection) { CommandTimeout = 600 };
        await using var reader = await command.ExecuteReaderAsync();
        if (!await reader.ReadAsync()) throw new InvalidOperationException("The query returned no row.");
        return read(reader);
    }

    /// <summary>Every row of a query, each read by <paramref name="read"/>.</summary>
    public async Task<List<T>> RowsAsync<T>(string sql, Func<NpgsqlDataReader, T> read)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection) { CommandTimeout = 600 };
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<T>();
        while (await reader.ReadAsync()) rows.Add(read(reader));
        return rows;
    }

    /// <summary>Creates a database on the same server if it does not exist; returns its connection string.</summary>
    public async Task<string> EnsureDatabaseAsync(string name)
    {
        if (!await ScalarAsync<bool>(BenchmarkSql.DatabaseExists(name)))
            await ExecuteAsync(BenchmarkSql.CreateDatabase(name));
        return new NpgsqlConnectionStringBuilder(connectionString) { Database = name }.ConnectionString;
    }

    /// <summary>The server as a postgres:// URL to <paramref name="database"/>, for the Node.js drivers.</summary>
    public string Url(string database)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        return $"postgres://{builder.Username}@{builder.Host}:{builder.Port}/{database}";
    }
}
