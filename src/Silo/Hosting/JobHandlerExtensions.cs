using Microsoft.Extensions.DependencyInjection;
using Orleans.Jobs.Grains.Interfaces;
using Orleans.Jobs.Silo.Workers;

namespace Orleans.Jobs.Silo.Hosting;

/// <summary>Registers job handlers on a silo: any silo that registers a queue's handler runs that queue's jobs.</summary>
public static class JobHandlerExtensions
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
        return silo.AddJobHandler(queue, _ => instance, options, shared: instance);
    }

    internal static ISiloBuilder AddJobHandler(this ISiloBuilder silo, string queue, Func<IServiceProvider, IJobHandler> create, JobHandlerOptions? options = null, IJobHandler? shared = null)
    {
        options ??= new JobHandlerOptions();
        if (options.NodeLocal && QueueName.Parse(queue).IsNodeLocal)
            throw new ArgumentException($"Register node-local handlers by the plain queue name, not '{queue}': the silo adds its own node.", nameof(queue));
        QueueLimits.ValidateQueueName(queue);
        silo.Services.AddSingleton(new JobHandlerRegistration(queue, create, options) { Shared = shared });
        return silo;
    }
}
