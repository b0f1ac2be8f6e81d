using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Hosting;
using Orleans.Jobs.Silo.Hosting;
using Orleans.Jobs.Silo.Workers;
using Orleans.Runtime;
using Orleans.TestingHost;

namespace Orleans.Jobs.Tests.Support;

/// <summary>Which job store a test cluster runs on.</summary>
public enum StoreKind
{
    InMemory,
    Postgres,
}

/// <summary>
/// Builds an Orleans <see cref="TestCluster"/> whose silos run Orleans.Jobs through <c>AddOrleansJobs</c>, configured
/// the documented way — configuration keys — with short periods so failures show in seconds. Per-test silo setup
/// (job handlers, options) is a lambda, kept in a registry keyed by a per-cluster id because Orleans instantiates
/// silo configurators by type.
/// </summary>
public sealed class JobsClusterBuilder
{
    private static readonly ConcurrentDictionary<string, Action<ISiloBuilder>> Setups = new();
    private readonly string _id = Guid.NewGuid().ToString("N");
    private Action<ISiloBuilder> _setup = _ => { };

    public JobsClusterBuilder(int silos, StoreKind store, string? schema = null)
    {
        Inner = new TestClusterBuilder((short)silos);
        Inner.Options.ServiceId = $"svc-{_id[..12]}";
        Set("Test:SetupId", _id);
        Set("Cluster:Clustering", "External");
        Set("Queues:Defaults:LeaseDuration", "00:00:10"); // renewed every ~3 s: survives a stalled 2-core machine
        Set("Queues:Defaults:MonitorPeriod", "00:00:01");
        Set("Queues:Defaults:RetryDelay", "00:00:00.050");
        Set("Workers:ShutdownTimeout", "00:00:00.300");
        Set("Workers:PollTimeout", "00:00:05");
        if (store == StoreKind.Postgres)
        {
            Set("Store:ConnectionString", TestPostgres.ConnectionString);
            Set("Store:Schema", schema ?? throw new ArgumentNullException(nameof(schema), "A PostgreSQL cluster needs its schema."));
            Set("Store:PollInterval", "00:00:00.500");
        }

        Inner.AddSiloBuilderConfigurator<SiloSetup>();
    }

    /// <summary>The Orleans builder, for what this wrapper does not cover.</summary>
    public TestClusterBuilder Inner { get; }

    /// <summary>Sets a configuration key every silo (and the client) sees, such as <c>Workers:MaxConcurrency</c>.</summary>
    public JobsClusterBuilder Set(string key, string value)
    {
        Inner.Properties[key] = value;
        return this;
    }

    /// <summary>Adds per-test silo setup: job handlers, services, options.</summary>
    public JobsClusterBuilder ConfigureSilo(Action<ISiloBuilder> configure)
    {
        _setup += configure;
        return this;
    }

    public JobsCluster Build()
    {
        Setups[_id] = _setup;
        return new JobsCluster(Inner.Build(), () => Setups.TryRemove(_id, out _));
    }

    private sealed class SiloSetup : ISiloConfigurator
    {
        public void Configure(ISiloBuilder siloBuilder)
        {
            var id = siloBuilder.Configuration["Test:SetupId"] ?? throw new InvalidOperationException("Test:SetupId is not set.");
            Setups[id](siloBuilder);
            if (!OrleansJobsSiloBuilderExtensions.IsAdded(siloBuilder)) siloBuilder.AddOrleansJobs();
        }
    }
}

/// <summary>A deployed test cluster: Orleans' <see cref="TestCluster"/> plus ways into each in-process silo.</summary>
public sealed class JobsCluster(TestCluster cluster, Action forget) : IAsyncDisposable
{
    private static readonly TimeSpan StopDeadline = TimeSpan.FromSeconds(60);

    public TestCluster Orleans => cluster;

    public IClusterClient Client => cluster.Client;

    public IReadOnlyList<SiloHandle> Silos => cluster.Silos;

    public SiloHandle Primary => cluster.Primary ?? throw new InvalidOperationException("The cluster has no primary silo.");

    public Task DeployAsync() => Eventually.WithinAsync(cluster.DeployAsync().ContinueWith(t => { t.GetAwaiter().GetResult(); return true; }), "the test cluster to deploy", StopDeadline);

    public Task<SiloHandle> StartAdditionalSiloAsync() => Eventually.WithinAsync(cluster.StartAdditionalSiloAsync(), "an additional silo to start", StopDeadline);

    public Task KillSiloAsync(SiloHandle silo) => Eventually.WithinAsync(cluster.KillSiloAsync(silo).ContinueWith(_ => true), "a silo to be killed", StopDeadline);

    public Task StopSiloAsync(SiloHandle silo) => Eventually.WithinAsync(cluster.StopSiloAsync(silo).ContinueWith(_ => true), "a silo to stop", StopDeadline);

    /// <summary>The claim owner of a silo's workers: its address with its generation.</summary>
    public static string Owner(SiloHandle silo) => silo.SiloAddress.ToParsableString();

    /// <summary>An in-process silo's services.</summary>
    public static IServiceProvider Services(SiloHandle silo) => ((InProcessSiloHandle)silo).SiloHost.Services;

    /// <summary>A grain factory inside a silo: grain calls made through it start on that silo (stateless workers activate there).</summary>
    public static IGrainFactory GrainsOn(SiloHandle silo) => Services(silo).GetRequiredService<IGrainFactory>();

    public static JobWorkerService Workers(SiloHandle silo) => Services(silo).GetRequiredService<JobWorkerService>();

    /// <summary>The membership status of every silo ever in the cluster, as Orleans sees it.</summary>
    public async Task<Dictionary<SiloAddress, SiloStatus>> StatusesAsync() =>
        await Client.GetGrain<IManagementGrain>(0).GetHosts(onlyActive: false);

    public async ValueTask DisposeAsync()
    {
        try
        {
            using var deadline = new CancellationTokenSource(StopDeadline);
            await cluster.StopAllSilosAsync().WaitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            // A silo that will not stop must not hang the run; its process-local state dies with the test host.
        }
        finally
        {
            await cluster.DisposeAsync().AsTask().WaitAsync(StopDeadline).ContinueWith(_ => { });
            forget();
        }
    }
}
