using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Orleans.Jobs.Grains.Interfaces.Pipelines;
using Orleans.Jobs.Silo.Hosting;

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
