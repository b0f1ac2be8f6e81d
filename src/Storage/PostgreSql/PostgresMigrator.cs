using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Orleans.Jobs.Storage.PostgreSql;

/// <summary>
/// Creates and migrates the schema. Migrations are the embedded Migrations/NNNN_name.sql files, applied in order,
/// each in its own transaction. Silos starting at once serialize on an advisory lock: the first applies what is
/// missing, the others find it done (as workerbee's bees race to create their tables).
/// </summary>
internal static partial class PostgresMigrator
{
    private const string ResourcePrefix = "Orleans.Jobs.Migrations.";

    public static IReadOnlyList<(int Version, string Name, string Sql)> Migrations { get; } = Load();

    /// <summary>Applies the migrations <paramref name="schema"/> lacks; returns how many. Every store on the schema calls it before first use.</summary>
    public static async Task<int> MigrateAsync(NpgsqlDataSource dataSource, PostgresQueries queries, string schema, ILogger logger, CancellationToken cancellationToken)
    {
        var lockKey = LockKey(schema);
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await Execute(connection, null, queries.MigrationLock, cancellationToken, ("key", lockKey));
        try
        {
            await Execute(connection, null, queries.CreateSchema, cancellationToken);
            var applied = new HashSet<int>();
            await using (var command = new NpgsqlCommand(queries.AppliedMigrations, connection))
            await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
                while (await reader.ReadAsync(cancellationToken)) applied.Add(reader.GetInt32(0));

            var count = 0;
            foreach (var (version, name, sql) in Migrations.Where(m => !applied.Contains(m.Version)))
            {
                await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
                await Execute(connection, transaction, queries.Bind(sql), cancellationToken);
                await Execute(connection, transaction, queries.RecordMigration, cancellationToken, ("version", version), ("name", name));
                await transaction.CommitAsync(cancellationToken);
                LogApplied(logger, version, name);
                count++;
            }

            return count;
        }
        finally
        {
            await Execute(connection, null, queries.MigrationUnlock, CancellationToken.None, ("key", lockKey));
        }
    }

    /// <summary>The advisory lock of a schema's migrations; the same in every version, so old and new silos exclude each other.</summary>
    private static long LockKey(string schema) =>
        BitConverter.ToInt64(SHA256.HashData(Encoding.UTF8.GetBytes($"{schema}/schema-migrations")), 0);

    private static async Task Execute(NpgsqlConnection connection, NpgsqlTransaction? transaction, string sql, CancellationToken cancellationToken, params (string Name, object Value)[] parameters)
    {
        await using var command = new NpgsqlCommand(sql, connection, transaction);
        foreach (var (name, value) in parameters) command.Parameters.AddWithValue(name, value);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static List<(int, string, string)> Load()
    {
        var assembly = typeof(PostgresMigrator).Assembly;
        var migrations = new List<(int, string, string)>();
        foreach (var resource in assembly.GetManifestResourceNames().Where(n => n.StartsWith(ResourcePrefix, StringComparison.Ordinal)))
        {
            var file = resource[ResourcePrefix.Length..^".sql".Length];
            var separator = file.IndexOf('_');
            if (separator < 1 || !int.TryParse(file[..separator], out var version))
                throw new InvalidOperationException($"Migration '{file}.sql' must be named NNNN_name.sql.");
            using var stream = assembly.GetManifestResourceStream(resource)!;
            using var reader = new StreamReader(stream);
            migrations.Add((version, file[(separator + 1)..], reader.ReadToEnd()));
        }

        return [.. migrations.OrderBy(m => m.Item1)];
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Applied migration {Version} ({Name})")]
    private static partial void LogApplied(ILogger logger, int version, string name);
}
