using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Jobs.Grains.Code;
using Orleans.Jobs.Grains.Queues;
using Orleans.Jobs.Silo.Code;
using Orleans.Jobs.Silo.Hosting;
using Orleans.Jobs.Storage;
using Orleans.Runtime;

namespace Orleans.Jobs.Silo.WorkStreams;

/// <summary>The Node role every silo gets: its options and the <see cref="WorkStreamNode"/> in the silo lifecycle.</summary>
internal static class WorkStreamSiloBuilderExtensions
{
    public static ISiloBuilder AddWorkStreamNode(this ISiloBuilder silo, IConfiguration configuration)
    {
        var services = silo.Services;
        services.AddOptions<WorkStreamNodeOptions>().Bind(configuration.GetSection(OrleansJobsSiloBuilderExtensions.WorkStreamNodeSection)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<WorkStreamNodeOptions>, WorkStreamNodeOptionsValidator>());
        services.AddSingleton(sp => new ForkExecutorFactory(sp.GetRequiredService<PostedCodeRunner>(), sp.GetRequiredService<PostedCodeCache>(), sp.GetRequiredService<ILogger<IsolatedCodeProcess>>()));
        services.AddSingleton(sp => new WorkStreamWorkerContext(
            sp.GetRequiredService<QueueDataPlane>(),
            sp.GetRequiredService<IEventLogStore>(),
            sp.GetRequiredService<ForkExecutorFactory>(),
            sp.GetRequiredService<ILocalSiloDetails>(),
            sp.GetRequiredService<IOptions<WorkStreamNodeOptions>>().Value,
            sp.GetRequiredService<IOptions<JobsSiloOptions>>().Value.Node,
            sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton(sp => new WorkStreamNode(
            sp.GetRequiredService<IGrainFactory>(),
            sp.GetRequiredService<WorkStreamWorkerContext>(),
            sp.GetRequiredService<IOptions<WorkStreamNodeOptions>>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<WorkStreamNode>>()));
        services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(sp => sp.GetRequiredService<WorkStreamNode>());
        return silo;
    }
}
