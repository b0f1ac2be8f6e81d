using Microsoft.Extensions.Options;
using Orleans.Jobs.Runtime;
using Orleans.Jobs.Runtime.Hosting;
using Orleans.Jobs.Runtime.Storage.PostgreSql;
using Orleans.Jobs.Runtime.Storage.InMemory;
using Orleans.Jobs.Silo.Workers;
using Orleans.Jobs.Grains.Interfaces;

namespace Orleans.Jobs.Silo.Hosting;

/// <summary>Configures a silo: its store, job handlers and options.</summary>
public interface ISiloBuilder
{
    /// <summary>The silo's services.</summary>
    IServiceCollection Services { get; }

    /// <summary>The host's configuration.</summary>
    IConfiguration Configuration { get; }
}

internal sealed record SiloBuilder(IServiceCollection Services, IConfiguration Configuration) : ISiloBuilder;

/// <summary>Configuration helpers for <see cref="ISiloBuilder"/>.</summary>
public static class SiloBuilderExtensions
{
    /// <summary>
    /// Runs the jobs of <paramref name="queue"/> on this silo with <typeparamref name="THandler"/>, created per job from
    /// the silo's services. Jobs are monitored and cluster-wide unless <paramref name="options"/> says otherwise.
    /// </summary>
    /// <exception cref="ArgumentException">The queue name is invalid.</exception>
    public static ISiloBuilder AddJobHandler<THandler>(this ISiloBuilder silo, string queue, JobHandlerOptions? options = null) where THandler : class, IJobHandler =>
        silo.AddJobHandler(queue, sp => ActivatorUtilities.CreateInstance<THandler>(sp), options);

    /// <summary>Runs the jobs of <paramref name="queue"/> on this silo with a delegate.</summary>
    /// <exception cref="ArgumentException">The queue name is invalid.</exception>
    public static ISiloBuilder AddJobHandler(this ISiloBuilder silo, string queue, Func<JobContext, CancellationToken, Task<string?>> handler, JobHandlerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(handler);
        var instance = new DelegateJobHandler(handler);
        return silo.AddJobHandler(queue, _ => instance, options);
    }

    private static ISiloBuilder AddJobHandler(this ISiloBuilder silo, string queue, Func<IServiceProvider, IJobHandler> create, JobHandlerOptions? options)
    {
        options ??= new JobHandlerOptions();
        if (options.NodeLocal && QueueName.Parse(queue).IsNodeLocal)
            throw new ArgumentException($"Register node-local handlers by the plain queue name, not '{queue}': the silo adds its own node.", nameof(queue));
        QueueLimits.ValidateQueueName(queue);
        silo.Services.AddSingleton(new JobHandlerRegistration(queue, create, options));
        return silo;
    }

    /// <summary>Uses the in-memory store (the default). Pass a store to share it between silos of one process.</summary>
    public static ISiloBuilder UseInMemoryStore(this ISiloBuilder silo, InMemoryClusterStore? store = null)
    {
        silo.Services.AddSingleton<IClusterStore>(store ?? new InMemoryClusterStore());
        return silo;
    }

    /// <summary>Uses PostgreSQL as the store: durable, shared by silos on many nodes. The schema is created and migrated at start.</summary>
    public static ISiloBuilder UsePostgres(this ISiloBuilder silo, Action<PostgresStoreOptions> configure)
    {
        silo.Services.AddOptions<PostgresStoreOptions>().Configure(configure);
        silo.Services.AddSingleton<IClusterStore>(sp => new PostgresClusterStore(
            sp.GetRequiredService<IOptions<PostgresStoreOptions>>().Value,
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<PostgresClusterStore>>()));
        silo.Services.AddSingleton(new OwnedClusterStore());
        return silo;
    }

    /// <summary>Uses <paramref name="timeProvider"/> as the silo's clock (tests use a manual clock).</summary>
    public static ISiloBuilder UseTimeProvider(this ISiloBuilder silo, TimeProvider timeProvider)
    {
        silo.Services.AddSingleton(timeProvider);
        return silo;
    }
}
