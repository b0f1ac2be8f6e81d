using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Jobs.Storage.PostgreSql;

namespace Orleans.Jobs.Silo.Hosting;

/// <summary>
/// Configures Orleans.Jobs on one silo, inside <c>AddOrleansJobs</c>: the job store and, beside the
/// <see cref="JobHandlerExtensions.AddJobHandler{THandler}"/> family on the silo builder, anything else that must be
/// known before the silo's Orleans providers are chosen.
/// </summary>
public sealed class JobsBuilder
{
    internal JobsBuilder(ISiloBuilder silo, IConfiguration configuration)
    {
        Silo = silo;
        Configuration = configuration;
    }

    /// <summary>The Orleans silo builder.</summary>
    public ISiloBuilder Silo { get; }

    /// <summary>The silo's services.</summary>
    public IServiceCollection Services => Silo.Services;

    /// <summary>The configuration Orleans.Jobs reads: the host's, over <c>ORLEANSJOBS_</c>-prefixed environment variables.</summary>
    public IConfiguration Configuration { get; }

    /// <summary>The PostgreSQL store's options when the store is PostgreSQL; null for the in-memory store.</summary>
    internal PostgresStoreOptions? Postgres { get; private set; }

    /// <summary>Set when the store was chosen in code (it then wins over configuration).</summary>
    internal bool StoreChosen { get; private set; }

    /// <summary>Uses the in-memory job store: the embedded default, shared by the silos of one service in one process.</summary>
    public JobsBuilder UseInMemoryStore()
    {
        (Postgres, StoreChosen) = (null, true);
        return this;
    }

    /// <summary>
    /// Uses PostgreSQL as the job store (durable, shared by silos on many nodes), starting from the <c>Store</c>
    /// configuration section. The schema is created and migrated when the silo starts, Orleans' own tables included.
    /// </summary>
    public JobsBuilder UsePostgresStore(Action<PostgresStoreOptions>? configure = null)
    {
        var options = new PostgresStoreOptions();
        Configuration.GetSection(OrleansJobsSiloBuilderExtensions.StoreSection).Bind(options);
        configure?.Invoke(options);
        (Postgres, StoreChosen) = (options, true);
        return this;
    }
}
