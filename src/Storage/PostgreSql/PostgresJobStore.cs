using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;
using NpgsqlTypes;

namespace Orleans.Jobs.Storage.PostgreSql;

/// <summary>
/// The durable job store: PostgreSQL shared by the silos of a cluster on many nodes. Job claims are batched FOR UPDATE SKIP LOCKED, LISTEN/NOTIFY wakes waiters (with polling as
/// the fallback), completions are written in batches and finished jobs move to an archive table.
/// Call <see cref="StartAsync"/> (the silo does) before use: it creates or migrates the schema.
/// </summary>
public sealed partial class PostgresJobStore : IJobStore, IJobStoreLifecycle, IAsyncDisposable
{
    private readonly PostgresStoreOptions _options;
    private readonly NpgsqlDataSource _dataSource;
    private readonly PostgresQueries _sql;
    private readonly AvailabilityBroadcaster _availability;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private NotificationListener? _listener;
    private CompletionBatcher? _completions;

    /// <summary>Creates the store; nothing is contacted until <see cref="StartAsync"/>.</summary>
    /// <exception cref="OptionsValidationException">The options are invalid; the message names the setting (never the password).</exception>
    public PostgresJobStore(PostgresStoreOptions options, TimeProvider? timeProvider = null, ILogger<PostgresJobStore>? logger = null)
    {
        options.ThrowIfInvalid();
        _options = options;
        _timeProvider = timeProvider ?? TimeProvider.System;
        _logger = logger ?? NullLogger<PostgresJobStore>.Instance;
        _sql = new PostgresQueries(options.Schema);
        _availability = new AvailabilityBroadcaster(options.PollInterval);
        _dataSource = options.CreateDataSource();
    }

    /// <inheritdoc />
    public string ProviderName => "postgresql";

    /// <summary>The store's connection pool, shared with a pipeline store on the same database.</summary>
    internal NpgsqlDataSource DataSource => _dataSource;

    /// <summary>The options this store was created with.</summary>
    public PostgresStoreOptions Options => _options;

    /// <summary>True while notifications are being received (false: waiters are polling).</summary>
    public bool IsListening => _listener?.IsListening ?? false;

    /// <summary>Creates or migrates the schema, then starts listening for notifications and writing completions.</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (_completions is not null) return;
        LogStarting(_options.DescribeConnection(), _options.Schema);
        var applied = await PostgresMigrator.MigrateAsync(_dataSource, _sql, _options.Schema, _logger, cancellationToken);
        LogMigrated(_options.Schema, applied, PostgresMigrator.Migrations.Count);
        _completions = new CompletionBatcher(WriteCompletionsAsync, _options.CompletionBatchSize);
        _listener = new NotificationListener(_dataSource, _sql, _availability, _timeProvider, _logger);
        _listener.Start();
    }

    /// <summary>Stops listening and writes the completions still queued, for as long as <paramref name="cancellationToken"/> allows.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        var (completions, listener) = (_completions, _listener);
        _completions = null;
        _listener = null;
        if (completions is not null) await completions.DisposeAsync().AsTask().WaitAsync(cancellationToken);
        if (listener is not null) await listener.DisposeAsync().AsTask().WaitAsync(cancellationToken);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        using var deadline = new CancellationTokenSource(StopDeadline);
        try
        {
            await StopAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            LogStopTimedOut(StopDeadline); // connections close below either way
        }

        await _dataSource.DisposeAsync();
    }

    private static readonly TimeSpan StopDeadline = TimeSpan.FromSeconds(30);

    private NpgsqlCommand Command(string sql, params (string Name, object? Value)[] parameters)
    {
        var command = _dataSource.CreateCommand(sql);
        AddParameters(command, parameters);
        return command;
    }

    private static NpgsqlCommand Command(NpgsqlConnection connection, NpgsqlTransaction? transaction, string sql, params (string Name, object? Value)[] parameters)
    {
        var command = new NpgsqlCommand(sql, connection, transaction);
        AddParameters(command, parameters);
        return command;
    }

    private static void AddParameters(NpgsqlCommand command, (string Name, object? Value)[] parameters)
    {
        foreach (var (name, value) in parameters)
        {
            command.Parameters.Add(value switch
            {
                null => new NpgsqlParameter(name, NpgsqlDbType.Unknown) { Value = DBNull.Value },
                NullOf typed => new NpgsqlParameter(name, typed.Type) { Value = DBNull.Value },
                _ => new NpgsqlParameter(name, value),
            });
        }
    }

    private static long Microseconds(TimeSpan span) => span.Ticks / TimeSpan.TicksPerMicrosecond;

    /// <summary>A typed SQL null, for parameters PostgreSQL cannot infer a type for.</summary>
    private sealed record NullOf(NpgsqlDbType Type);

    private static object Nullable(long? value) => value is { } v ? v : new NullOf(NpgsqlDbType.Bigint);

    private static object Nullable(DateTimeOffset? value) => value is { } v ? v : new NullOf(NpgsqlDbType.TimestampTz);

    private static object Nullable(string? value) => value is { } v ? v : new NullOf(NpgsqlDbType.Text);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The PostgreSQL store did not stop within {Deadline}; closing its connections anyway")]
    private partial void LogStopTimedOut(TimeSpan deadline);

    [LoggerMessage(Level = LogLevel.Information, Message = "PostgreSQL store at {Connection}, schema {Schema}")]
    private partial void LogStarting(string connection, string schema);

    [LoggerMessage(Level = LogLevel.Information, Message = "Schema {Schema} is up to date: {Applied} migrations applied now, {Total} in all")]
    private partial void LogMigrated(string schema, int applied, int total);
}
