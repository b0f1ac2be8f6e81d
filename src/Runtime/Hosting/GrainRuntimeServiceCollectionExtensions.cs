using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Orleans.Jobs.Runtime.Membership;
using Orleans.Jobs.Runtime.Proxies;
using Orleans.Jobs.Runtime.Reminders;
using Orleans.Jobs.Runtime.Storage.InMemory;

namespace Orleans.Jobs.Runtime.Hosting;

/// <summary>Registers the grain runtime of a silo.</summary>
public static class GrainRuntimeServiceCollectionExtensions
{
    /// <summary>
    /// Adds the silo runtime: grain activations and turns, membership and reminders. The store defaults to a new
    /// <see cref="InMemoryClusterStore"/>; register an <see cref="IClusterStore"/> first to use another.
    /// </summary>
    public static IServiceCollection AddGrainRuntime(this IServiceCollection services)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<IClusterStore, InMemoryClusterStore>();
        services.TryAddSingleton<SiloLifetime>();
        services.TryAddSingleton<ReminderRegistry>();
        services.TryAddSingleton(sp => new GrainRegistry(sp.GetServices<GrainRegistration>()));
        services.TryAddSingleton<LocalGrainRuntime>();
        services.TryAddSingleton<IGrainFactory>(sp => sp.GetRequiredService<LocalGrainRuntime>());
        services.TryAddSingleton<IClusterClient>(sp => sp.GetRequiredService<LocalGrainRuntime>());

        services.AddOptions<SiloOptions>().ValidateOnStart();
        services.AddOptions<MembershipOptions>().ValidateOnStart();
        services.AddOptions<ReminderOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<SiloOptions>, SiloOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<MembershipOptions>, MembershipOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ReminderOptions>, ReminderOptionsValidator>());

        // The store starts first and stops last; then membership, so the silo is in the table for as long as it does any work.
        services.AddHostedService<ClusterStoreLifecycleService>();
        services.AddSingleton<MembershipService>();
        services.AddHostedService(sp => sp.GetRequiredService<MembershipService>());
        services.AddSingleton<ReminderService>();
        services.AddHostedService(sp => sp.GetRequiredService<ReminderService>());
        return services;
    }

    /// <summary>Registers a grain implementation for a grain interface.</summary>
    public static IServiceCollection AddGrain<TGrainInterface, TGrain>(this IServiceCollection services)
        where TGrainInterface : IGrainWithStringKey
        where TGrain : Grain, TGrainInterface
    {
        services.AddSingleton(new GrainRegistration(GrainInterface.Of(typeof(TGrainInterface)), typeof(TGrain)));
        return services;
    }
}
