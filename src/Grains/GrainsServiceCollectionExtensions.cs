using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Orleans.Jobs.Grains.Interfaces;
using Orleans.Jobs.Grains.Queues;
using Orleans.Jobs.Grains.Routing;
using Orleans.Jobs.Runtime.Hosting;

namespace Orleans.Jobs.Grains;

/// <summary>Registers the built-in grains of Orleans.Jobs.</summary>
public static class GrainsServiceCollectionExtensions
{
    /// <summary>Adds the queue and routing table grains and their options.</summary>
    public static IServiceCollection AddJobGrains(this IServiceCollection services)
    {
        services.AddGrain<IQueueGrain, QueueGrain>();
        services.AddGrain<IRoutingTableGrain, RoutingTableGrain>();
        services.AddOptions<QueueOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<QueueOptions>, QueueOptionsValidator>());
        return services;
    }
}
