using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Orleans.Jobs.Storage.PostgreSql;

/// <summary>Options of the PostgreSQL store.</summary>
public sealed partial class PostgresStoreOptions
{
    /// <summary>Default of <see cref="Schema"/>.</summary>
    public const string DefaultSchema = "orleans_jobs";

    /// <summary>Default of <see cref="PollInterval"/>.</summary>
    public static readonly TimeSpan DefaultPollInterval = TimeSpan.FromSeconds(1);

    /// <summary>Default of <see cref="CompletionBatchSize"/>.</summary>
    public const int DefaultCompletionBatchSize = 1000;

    /// <summary>An Npgsql connection string, e.g. Host=127.0.0.1;Port=5432;Username=jobs;Password=...;Database=jobs.</summary>
    public string ConnectionString { get; set; } = "";

    /// <summary>The schema holding the tables; created and migrated automatically.</summary>
    public string Schema { get; set; } = DefaultSchema;

    /// <summary>Waiters re-check their queue at least this often, in case a notification was lost.</summary>
    public TimeSpan PollInterval { get; set; } = DefaultPollInterval;

    /// <summary>The most completions written in one statement.</summary>
    public int CompletionBatchSize { get; set; } = DefaultCompletionBatchSize;


    /// <summary>The connection string without its password, for logs and errors.</summary>
    public string DescribeConnection()
    {
        try
        {
            var builder = new NpgsqlConnectionStringBuilder(ConnectionString);
            return $"Host={builder.Host};Port={builder.Port};Database={builder.Database};Username={builder.Username}";
        }
        catch (ArgumentException)
        {
            return "(unreadable connection string)";
        }
    }

    /// <summary>
    /// The connection string Orleans' ADO.NET providers (clustering, grain storage, reminders) use: the same database
    /// with the search path set to <see cref="Schema"/>, where our migrations created their tables.
    /// </summary>
    public string OrleansConnectionString()
    {
        var builder = new NpgsqlConnectionStringBuilder(ConnectionString) { SearchPath = Schema, ApplicationName = "orleans-jobs-orleans" };
        // Orleans' ADO.NET providers open a connection per storage call: 1,000 pipeline grains writing at once would
        // take Npgsql's default 100 connections per silo. Bound it, unless the connection string says otherwise.
        if (!ConnectionString.Contains("pool size", StringComparison.OrdinalIgnoreCase)) builder.MaxPoolSize = DefaultOrleansMaxPoolSize;
        return builder.ConnectionString;
    }

    /// <summary>The most connections Orleans' ADO.NET providers of one silo open at once, unless the connection string sets <c>Maximum Pool Size</c>.</summary>
    public const int DefaultOrleansMaxPoolSize = 20;

    /// <summary>Statements each connection of the store prepares automatically, unless the connection string sets <c>Max Auto Prepare</c>: more than the store has.</summary>
    public const int DefaultMaxAutoPrepare = 64;

    /// <summary>The ADO.NET invariant name Orleans' providers load Npgsql by.</summary>
    public const string AdoNetInvariant = "Npgsql";

    /// <summary>Throws when the options are invalid; the message names the setting (never the password).</summary>
    /// <exception cref="OptionsValidationException">The options are invalid.</exception>
    internal void ThrowIfInvalid()
    {
        var validation = new PostgresStoreOptionsValidator().Validate(null, this);
        if (validation.Failed)
            throw new OptionsValidationException(nameof(PostgresStoreOptions), typeof(PostgresStoreOptions), validation.Failures);
    }

    /// <summary>
    /// A data source on <see cref="ConnectionString"/>, named "orleans-jobs" in pg_stat_activity unless the string names
    /// it, with Npgsql's automatic preparation on (<see cref="DefaultMaxAutoPrepare"/> statements per connection) unless
    /// the string sets <c>Max Auto Prepare</c>: the store runs a few dozen statements over and over, and a prepared one
    /// is parsed and planned once per connection instead of once per call.
    /// </summary>
    internal NpgsqlDataSource CreateDataSource()
    {
        var builder = new NpgsqlDataSourceBuilder(ConnectionString);
        builder.ConnectionStringBuilder.ApplicationName ??= "orleans-jobs";
        if (!ConnectionString.Replace(" ", "", StringComparison.Ordinal).Contains("MaxAutoPrepare", StringComparison.OrdinalIgnoreCase)) builder.ConnectionStringBuilder.MaxAutoPrepare = DefaultMaxAutoPrepare;
        return builder.Build();
    }

    [GeneratedRegex("^[a-z_][a-z0-9_]{0,50}\\z")]
    internal static partial Regex SchemaPattern();
}

internal sealed class PostgresStoreOptionsValidator : IValidateOptions<PostgresStoreOptions>
{
    public ValidateOptionsResult Validate(string? name, PostgresStoreOptions options)
    {
        var failures = new List<string>();
        try
        {
            var builder = new NpgsqlConnectionStringBuilder(options.ConnectionString);
            if (string.IsNullOrEmpty(builder.Host))
                failures.Add("Store:ConnectionString must name a Host.");
        }
        catch (ArgumentException e)
        {
            // The message of a parse error can quote the string, password included: report only what is wrong.
            failures.Add($"Store:ConnectionString is not a valid Npgsql connection string ({e.GetType().Name}).");
        }

        if (!PostgresStoreOptions.SchemaPattern().IsMatch(options.Schema))
            failures.Add($"Store:Schema '{options.Schema}' must be 1 to 51 characters of a-z, 0-9 and '_', starting with a letter or '_'.");
        if (options.PollInterval < TimeSpan.FromMilliseconds(10) || options.PollInterval > TimeSpan.FromMinutes(1))
            failures.Add($"Store:PollInterval must be between 10 ms and 1 minute (was {options.PollInterval}).");
        if (options.CompletionBatchSize is < 1 or > 10_000)
            failures.Add($"Store:CompletionBatchSize must be between 1 and 10000 (was {options.CompletionBatchSize}).");
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
