using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Orleans.Jobs.Grains.Interfaces.Pipelines;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Jobs.Silo.Hosting;
using Orleans.Jobs.Storage.Pipelines;
using Orleans.Jobs.Storage.PostgreSql;

namespace Orleans.Jobs.Silo.Pipelines;

/// <summary>
/// Makes a silo a pipeline Broker: <c>silo.AddPipelineWorker&lt;Downloader&gt;().UsePipelineFileStore("/data/pipelines")</c>.
/// Any silo that registers a worker runs the steps of that worker, from every pipeline.
/// </summary>
public static class PipelineSiloBuilderExtensions
{
    /// <summary>
    /// Runs the steps of worker <paramref name="name"/> (the class name of <typeparamref name="TWorker"/> unless
    /// given) on this silo; the worker is created per step from the silo's services. Steps are monitored jobs.
    /// </summary>
    /// <exception cref="ArgumentException">The name breaks the worker name rule.</exception>
    public static ISiloBuilder AddPipelineWorker<TWorker>(this ISiloBuilder silo, string? name = null) where TWorker : class, IPipelineWorker =>
        silo.AddPipelineWorker(name ?? typeof(TWorker).Name, sp => ActivatorUtilities.CreateInstance<TWorker>(sp));

    /// <summary>Runs the steps of worker <paramref name="name"/> on this silo with a worker made by <paramref name="create"/>.</summary>
    /// <exception cref="ArgumentException">The name breaks the worker name rule.</exception>
    public static ISiloBuilder AddPipelineWorker(this ISiloBuilder silo, string name, Func<IServiceProvider, IPipelineWorker> create)
    {
        PipelineRules.ValidateWorkerName(name, nameof(name));
        ArgumentNullException.ThrowIfNull(create);
        var registration = new PipelineWorkerRegistration(name, create);
        silo.Services.AddSingleton(registration);
        return silo.AddJobHandler(PipelineRules.StepQueue(name), sp => new PipelineStepHandler(
            registration,
            registration.Create(sp),
            sp.GetRequiredService<IPipelineStore>(),
            sp.GetRequiredService<IGrainFactory>(),
            sp.GetRequiredService<TimeProvider>()));
    }

    /// <summary>
    /// Uses a directory of JSON files as this silo's pipeline store: one document per pipeline,
    /// <c>{directory}/{pipelineId}.json</c> (pypelinin's example store). Silos on one node may share the directory;
    /// silos on several nodes need a shared file system, or the PostgreSQL store.
    /// </summary>
    public static ISiloBuilder UsePipelineFileStore(this ISiloBuilder silo, string directory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        return silo.UsePipelineStore(_ => new FilePipelineStore(directory));
    }

    /// <summary>
    /// Uses a PostgreSQL table (<c>pipeline_results</c>, one jsonb document per pipeline) as this silo's pipeline
    /// store: by default in the job store's database and schema; <paramref name="configure"/> may point elsewhere
    /// (it must, when the job store is in memory).
    /// </summary>
    public static ISiloBuilder UsePipelinePostgresStore(this ISiloBuilder silo, Action<PostgresStoreOptions>? configure = null) =>
        silo.UsePipelineStore(sp =>
        {
            if (configure is null && sp.GetService<PostgresJobStore>() is { } sharedPool)
                return new PostgresPipelineStore(sharedPool, sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<PostgresPipelineStore>>());
            var options = new PostgresStoreOptions();
            if (sp.GetService<IOptions<PostgresStoreOptions>>()?.Value is { } jobStore)
                (options.ConnectionString, options.Schema) = (jobStore.ConnectionString, jobStore.Schema);
            configure?.Invoke(options);
            if (string.IsNullOrWhiteSpace(options.ConnectionString))
                throw new InvalidOperationException("UsePipelinePostgresStore needs a connection string: use the PostgreSQL job store (Store:ConnectionString) or set ConnectionString in its configure action.");
            return new PostgresPipelineStore(options, sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<PostgresPipelineStore>>());
        });

    /// <summary>Uses <typeparamref name="TStore"/> (a singleton) as this silo's pipeline store.</summary>
    public static ISiloBuilder UsePipelineStore<TStore>(this ISiloBuilder silo) where TStore : class, IPipelineStore
    {
        silo.Services.RemoveAll<IPipelineStore>();
        silo.Services.AddSingleton<IPipelineStore, TStore>();
        return silo;
    }

    /// <summary>Uses the pipeline store <paramref name="create"/> makes (a singleton).</summary>
    public static ISiloBuilder UsePipelineStore(this ISiloBuilder silo, Func<IServiceProvider, IPipelineStore> create)
    {
        ArgumentNullException.ThrowIfNull(create);
        silo.Services.RemoveAll<IPipelineStore>();
        silo.Services.AddSingleton(create);
        return silo;
    }
}
