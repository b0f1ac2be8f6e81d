using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;
using NpgsqlTypes;
using Orleans.Jobs.Grains.Interfaces.Pipelines;
using Orleans.Jobs.Storage.Pipelines;

namespace Orleans.Jobs.Storage.PostgreSql;

/// <summary>
/// A pipeline store on PostgreSQL: one jsonb row per pipeline in <c>pipeline_results</c>, in the job store's database
/// and schema. A save is one upsert that merges with jsonb <c>||</c>, so concurrent saves of a pipeline's steps from
/// any silo are atomic without a lock. It migrates the schema itself before first use, so it also serves silos whose
/// job store is in memory. jsonb cannot hold the character U+0000: a result with one is refused.
/// </summary>
public sealed class PostgresPipelineStore : PipelineDocumentStore, IAsyncDisposable
{
    private readonly PostgresStoreOptions _options;
    private readonly NpgsqlDataSource _dataSource;
    private readonly bool _ownsDataSource = true;
    private readonly PostgresQueries _sql;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _migration = new(1, 1);
    private volatile bool _migrated;

    /// <summary>Creates the store; nothing is contacted until first use.</summary>
    /// <param name="options">The connection and schema, the same as the job store's.</param>
    /// <param name="timeProvider">Stamps <c>updated_at</c>; the system clock when null.</param>
    /// <param name="logger">Logs the migrations applied.</param>
    /// <exception cref="OptionsValidationException">The options are invalid; the message names the setting (never the password).</exception>
    public PostgresPipelineStore(PostgresStoreOptions options, TimeProvider? timeProvider = null, ILogger<PostgresPipelineStore>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.ThrowIfInvalid();
        _options = options;
        _timeProvider = timeProvider ?? TimeProvider.System;
        _logger = logger ?? NullLogger<PostgresPipelineStore>.Instance;
        _sql = new PostgresQueries(options.Schema);
        _dataSource = options.CreateDataSource();
    }

    /// <summary>
    /// Creates a store on the job store's database and schema that shares its connection pool, so a silo's step
    /// saves and job claims draw from one pool instead of two.
    /// </summary>
    public PostgresPipelineStore(PostgresJobStore jobStore, TimeProvider? timeProvider = null, ILogger<PostgresPipelineStore>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(jobStore);
        _options = jobStore.Options;
        _timeProvider = timeProvider ?? TimeProvider.System;
        _logger = logger ?? NullLogger<PostgresPipelineStore>.Instance;
        _sql = new PostgresQueries(_options.Schema);
        _dataSource = jobStore.DataSource;
        _ownsDataSource = false;
    }

    /// <summary>The options this store was created with.</summary>
    public PostgresStoreOptions Options => _options;

    /// <inheritdoc />
    protected override async Task<JsonObject?> LoadAsync(string pipelineId, CancellationToken cancellationToken)
    {
        await EnsureMigratedAsync(cancellationToken);
        await using var command = _dataSource.CreateCommand(_sql.ReadPipelineResults);
        command.Parameters.Add(new NpgsqlParameter("id", pipelineId));
        return await command.ExecuteScalarAsync(cancellationToken) is string json ? JsonNode.Parse(json)!.AsObject() : null;
    }

    /// <inheritdoc />
    /// <exception cref="ArgumentException">The result holds U+0000, which jsonb cannot store.</exception>
    protected override async Task MergeAsync(PipelineJobInfo job, JsonObject result, CancellationToken cancellationToken)
    {
        await EnsureMigratedAsync(cancellationToken);
        await using var command = _dataSource.CreateCommand(_sql.SavePipelineResult);
        command.Parameters.Add(new NpgsqlParameter("id", job.PipelineId));
        command.Parameters.Add(new NpgsqlParameter("data", NpgsqlDbType.Jsonb) { Value = result.ToJsonString() });
        command.Parameters.Add(new NpgsqlParameter("now", _timeProvider.GetUtcNow()));
        try
        {
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UntranslatableCharacter)
        {
            throw new ArgumentException(
                $"The result of worker '{job.Worker}' for pipeline '{job.PipelineId}' holds the character U+0000, which PostgreSQL's jsonb cannot store; encode binary data (e.g. as base64).",
                nameof(result), e);
        }
    }

    /// <summary>Closes the store's connections.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_ownsDataSource) await _dataSource.DisposeAsync();
        _migration.Dispose();
    }

    /// <summary>Migrates the schema once, before first use; a failed attempt is retried by the next call.</summary>
    private async Task EnsureMigratedAsync(CancellationToken cancellationToken)
    {
        if (_migrated) return;
        await _migration.WaitAsync(cancellationToken);
        try
        {
            if (_migrated) return;
            await PostgresMigrator.MigrateAsync(_dataSource, _sql, _options.Schema, _logger, cancellationToken);
            _migrated = true;
        }
        finally
        {
            _migration.Release();
        }
    }
}
