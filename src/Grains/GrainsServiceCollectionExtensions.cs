using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Orleans.Jobs.Grains.Code;
using Orleans.Jobs.Grains.Pipelines;
using Orleans.Jobs.Grains.Queues;
using Orleans.Jobs.Grains.WorkStreams;

namespace Orleans.Jobs.Grains;

/// <summary>Registers what the built-in grains of Orleans.Jobs need on a silo (Orleans finds the grain classes itself).</summary>
public static class GrainsServiceCollectionExtensions
{
    /// <summary>
    /// Adds the queue, pipeline and posted-code options with their validators, this silo's queue data plane, its
    /// access to the finished-pipelines log and its runner of posted code. The silo registers the
    /// <see cref="ClusterKeyCheck"/> the posted-code grains need.
    /// </summary>
    public static IServiceCollection AddJobGrains(this IServiceCollection services)
    {
        services.AddOptions<QueueOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<QueueOptions>, QueueOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<QueueDataPlane>();
        services.AddOptions<PipelineOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<PipelineOptions>, PipelineOptionsValidator>());
        services.TryAddSingleton<FinishedPipelineLog>();
        services.AddOptions<PostedCodeOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<PostedCodeOptions>, PostedCodeOptionsValidator>());
        services.TryAddSingleton<PostedCodeRunner>();
        services.AddOptions<WorkStreamOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<WorkStreamOptions>, WorkStreamOptionsValidator>());
        return services;
    }
}
