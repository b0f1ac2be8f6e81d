using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Orleans.Jobs.Grains.Queues;

namespace Orleans.Jobs.Grains;

/// <summary>Registers what the built-in grains of Orleans.Jobs need on a silo (Orleans finds the grain classes itself).</summary>
public static class GrainsServiceCollectionExtensions
{
    /// <summary>Adds the queue options with their validator and this silo's queue data plane.</summary>
    public static IServiceCollection AddJobGrains(this IServiceCollection services)
    {
        services.AddOptions<QueueOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<QueueOptions>, QueueOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<QueueDataPlane>();
        return services;
    }
}
