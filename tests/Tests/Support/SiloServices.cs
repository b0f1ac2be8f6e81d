using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Orleans.Jobs.Grains;
using Orleans.Jobs.Runtime;
using Orleans.Jobs.Runtime.Hosting;
using Orleans.Jobs.Runtime.Membership;
using Orleans.Jobs.Runtime.Reminders;

namespace Orleans.Jobs.Tests.Support;

/// <summary>The runtime services of one silo, without a host: tests call the services' one-round methods directly.</summary>
public sealed class SiloServices : IAsyncDisposable
{
    private readonly ServiceProvider _provider;

    public SiloServices(IClusterStore store, TimeProvider clock, string siloId, Action<IServiceCollection>? configure = null)
    {
        var services = new ServiceCollection();
        services.AddLogging(l => l.SetMinimumLevel(LogLevel.Critical));
        services.AddSingleton(store);
        services.AddSingleton(clock);
        services.Configure<SiloOptions>(o => { o.SiloId = siloId; o.Node = "node-" + siloId; });
        services.Configure<ReminderOptions>(o => o.MinimumPeriod = TimeSpan.FromSeconds(1));
        configure?.Invoke(services);
        services.AddGrainRuntime();
        services.AddJobGrains();
        _provider = services.BuildServiceProvider(validateScopes: true);
        SiloId = siloId;
    }

    public string SiloId { get; }
    public LocalGrainRuntime Runtime => _provider.GetRequiredService<LocalGrainRuntime>();
    public IGrainFactory Grains => Runtime;
    public MembershipService Membership => _provider.GetRequiredService<MembershipService>();
    public ReminderService Reminders => _provider.GetRequiredService<ReminderService>();
    public SiloLifetime Lifetime => _provider.GetRequiredService<SiloLifetime>();

    /// <summary>Registers the silo in the membership table without starting its timers.</summary>
    public Task JoinAsync() => _provider.GetRequiredService<IClusterStore>().RegisterSiloAsync(
        new SiloRecord(SiloId, "node-" + SiloId, null, SiloStatus.Active, _provider.GetRequiredService<TimeProvider>().GetUtcNow(), _provider.GetRequiredService<TimeProvider>().GetUtcNow()),
        CancellationToken.None);

    public ValueTask DisposeAsync() => _provider.DisposeAsync();
}
