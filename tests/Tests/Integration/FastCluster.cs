using Microsoft.Extensions.DependencyInjection;
using Orleans.Jobs.Grains.Interfaces;
using Orleans.Jobs.Grains.Queues;
using Orleans.Jobs.Runtime;
using Orleans.Jobs.Runtime.Membership;
using Orleans.Jobs.Runtime.Reminders;
using Orleans.Jobs.Silo.Testing;
using Orleans.Jobs.Silo.Workers;

namespace Orleans.Jobs.Tests.Integration;

/// <summary>Test clusters on real time with short periods, so failures are detected in about a second.</summary>
public static class FastCluster
{
    public static readonly TimeSpan Lease = TimeSpan.FromSeconds(2);

    public static TestClusterBuilder Create(int silos, Func<IClusterStore>? storePerSilo = null)
    {
        var builder = Configure(new TestClusterBuilder(silos));
        builder.Options.StorePerSilo = storePerSilo;
        return builder;
    }

    private static TestClusterBuilder Configure(TestClusterBuilder builder) => builder.ConfigureSilo(s =>
    {
        s.Services.Configure<MembershipOptions>(o => { o.HeartbeatPeriod = TimeSpan.FromMilliseconds(100); o.DeathTimeout = TimeSpan.FromSeconds(1); });
        s.Services.Configure<ReminderOptions>(o => o.PollPeriod = TimeSpan.FromMilliseconds(100));
        s.Services.Configure<QueueOptions>(o => o.Defaults = new QueueSettings { LeaseDuration = Lease, MonitorPeriod = TimeSpan.FromSeconds(1), RetryDelay = TimeSpan.FromMilliseconds(50) });
        s.Services.Configure<WorkerOptions>(o => { o.ShutdownTimeout = TimeSpan.FromMilliseconds(300); o.PollTimeout = TimeSpan.FromSeconds(5); });
    });
}
