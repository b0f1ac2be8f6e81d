using Microsoft.Extensions.Options;
using Orleans.Jobs.Client;
using Orleans.Jobs.Runtime;
using Orleans.Jobs.Runtime.Hosting;
using Orleans.Jobs.Runtime.Proxies;
using Orleans.Jobs.Runtime.Storage.InMemory;
using Orleans.Jobs.Silo.Gateway;
using Orleans.Jobs.Silo.Hosting;

namespace Orleans.Jobs.Silo.Testing;

/// <summary>
/// Several silos in this process sharing one store, for integration tests — like Orleans.TestingHost. Each silo is
/// a full host with worker grains and a gateway on a free loopback port.
/// </summary>
/// <example>
/// <code>
/// await using var cluster = new TestClusterBuilder(2).ConfigureSilo(s => s.AddJobHandler&lt;MyHandler&gt;("q")).Build();
/// await cluster.DeployAsync();
/// await cluster.Client.GetGrain&lt;IQueueGrain&gt;("q").SendAsync("data");
/// </code>
/// </example>
public sealed class TestCluster : IAsyncDisposable
{
    private readonly TestClusterOptions _options;
    private readonly List<TestSilo> _silos = [];
    private readonly TestClusterClient _client;
    private int _siloCounter;

    internal TestCluster(TestClusterOptions options)
    {
        _options = options;
        _client = new TestClusterClient(this);
        Store = options.StorePerSilo?.Invoke() ?? options.Store;
    }

    /// <summary>
    /// The store all silos share, or with <see cref="TestClusterOptions.StorePerSilo"/> an instance of the test's own
    /// on the same database (for inspecting it).
    /// </summary>
    public IClusterStore Store { get; }

    /// <summary>A client that calls the cluster in-process, through any live silo.</summary>
    public IClusterClient Client => _client;

    /// <summary>The silos that are running.</summary>
    public IReadOnlyList<TestSilo> Silos
    {
        get { lock (_silos) return _silos.Where(s => s.IsRunning).ToList(); }
    }

    /// <summary>The first running silo.</summary>
    public TestSilo Primary => Silos.FirstOrDefault() ?? throw new InvalidOperationException("No silo is running.");

    /// <summary>Starts the initial silos.</summary>
    public async Task DeployAsync()
    {
        if (Store is IClusterStoreLifecycle lifecycle) await lifecycle.StartAsync(CancellationToken.None);
        for (var i = 0; i < _options.InitialSilosCount; i++)
            await StartAdditionalSiloAsync();
    }

    /// <summary>Starts one more silo.</summary>
    public async Task<TestSilo> StartAdditionalSiloAsync()
    {
        var index = Interlocked.Increment(ref _siloCounter);
        var siloId = $"testsilo-{index}-{Guid.NewGuid():N}"[..24];
        var builder = SiloHost.CreateBuilder([], silo =>
        {
            if (_options.StorePerSilo is { } createStore)
            {
                silo.Services.AddSingleton(_ => createStore());
                silo.Services.AddSingleton(new OwnedClusterStore());
            }
            else
            {
                silo.Services.AddSingleton(_options.Store);
            }

            silo.Services.AddSingleton(_options.TimeProvider);
            silo.Services.Configure<SiloOptions>(o => { o.SiloId = siloId; o.Node = _options.NodeNameForSilo(index); });
            silo.Services.Configure<GatewayOptions>(o => { o.Port = 0; o.ClusterKey = _options.ClusterKey; });
            foreach (var configure in _options.SiloConfigurations) configure(silo);
        });
        builder.Logging.ClearProviders();
        _options.ConfigureLogging?.Invoke(builder.Logging);
        var app = builder.BuildSilo();
        await app.StartAsync();
        var silo = new TestSilo(siloId, app);
        lock (_silos) _silos.Add(silo);
        return silo;
    }

    /// <summary>Stops a silo gracefully: it stops claiming, finishes or releases running jobs and leaves the membership table.</summary>
    public async Task StopSiloAsync(TestSilo silo)
    {
        if (!silo.IsRunning) return;
        silo.IsRunning = false;
        await silo.App.StopAsync();
        await silo.App.DisposeAsync();
    }

    /// <summary>Kills a silo as SIGKILL would: no cleanup, no release, no goodbye. The cluster finds out by its missing heartbeats.</summary>
    public async Task KillSiloAsync(TestSilo silo)
    {
        if (!silo.IsRunning) return;
        silo.IsRunning = false;
        silo.Services.GetRequiredService<SiloLifetime>().Kill();
        await silo.App.DisposeAsync(); // closes the gateway's sockets; hosted services get no StopAsync
    }

    /// <summary>A client that calls the cluster through the silos' HTTP gateways.</summary>
    public ClusterClient CreateGatewayClient(string? clusterKey = null) => new(new ClientOptions
    {
        Gateways = Silos.Select(s => s.GatewayUri).ToList(),
        ClusterKey = clusterKey ?? _options.ClusterKey,
    });

    /// <summary>Stops every silo gracefully.</summary>
    public async ValueTask DisposeAsync()
    {
        foreach (var silo in Silos)
            await StopSiloAsync(silo);
        if (Store is IClusterStoreLifecycle lifecycle) await lifecycle.StopAsync(CancellationToken.None);
        if (_options.StorePerSilo is not null && Store is IAsyncDisposable created) await created.DisposeAsync();
    }

    /// <summary>Routes in-process calls to a live silo, moving on when a silo was killed.</summary>
    private sealed class TestClusterClient(TestCluster cluster) : IClusterClient, IGrainCallInvoker
    {
        private int _next;

        public TGrainInterface GetGrain<TGrainInterface>(string primaryKey) where TGrainInterface : IGrainWithStringKey =>
            GrainProxy.Create<TGrainInterface>(primaryKey, this);

        public Task ConnectAsync(CancellationToken cancellationToken = default) => Task.CompletedTask;

        public async Task<object?> InvokeAsync(GrainId grain, GrainMethod method, object?[] arguments)
        {
            var silos = cluster.Silos;
            var start = Interlocked.Increment(ref _next);
            for (var i = 0; i < silos.Count; i++)
            {
                var runtime = silos[(start + i) % silos.Count].Services.GetRequiredService<LocalGrainRuntime>();
                if (!runtime.IsServing) continue;
                try
                {
                    return await runtime.InvokeAsync(grain, method, arguments);
                }
                catch (SiloUnavailableException) when (i < silos.Count - 1)
                {
                }
            }

            throw new SiloUnavailableException("No silo of the test cluster is running.");
        }
    }
}

/// <summary>A silo of a <see cref="TestCluster"/>.</summary>
public sealed class TestSilo
{
    internal TestSilo(string siloId, WebApplication app)
    {
        SiloId = siloId;
        App = app;
        GatewayUri = app.GatewayUri() ?? throw new InvalidOperationException("The silo's gateway did not report an address.");
    }

    /// <summary>The silo's id.</summary>
    public string SiloId { get; }

    /// <summary>The silo's gateway.</summary>
    public Uri GatewayUri { get; }

    /// <summary>The silo's services.</summary>
    public IServiceProvider Services => App.Services;

    /// <summary>True until the silo is stopped or killed.</summary>
    public bool IsRunning { get; internal set; } = true;

    internal WebApplication App { get; }

    /// <inheritdoc />
    public override string ToString() => SiloId;
}

/// <summary>Options of a <see cref="TestCluster"/>.</summary>
public sealed class TestClusterOptions
{
    /// <summary>How many silos <see cref="TestCluster.DeployAsync"/> starts.</summary>
    public int InitialSilosCount { get; set; } = 2;

    /// <summary>The store the silos share; a fresh in-memory store by default.</summary>
    public IClusterStore Store { get; set; } = new InMemoryClusterStore();

    /// <summary>
    /// When set, every silo gets its own store from this factory (its own connections, as a separate process would
    /// have) instead of sharing <see cref="Store"/>. Use it with a database-backed store.
    /// </summary>
    public Func<IClusterStore>? StorePerSilo { get; set; }

    /// <summary>The silos' clock.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>The gateways' cluster key.</summary>
    public string ClusterKey { get; set; } = "test-cluster-key";

    /// <summary>The node name of the n-th silo (from 1); all on one node by default.</summary>
    public Func<int, string> NodeNameForSilo { get; set; } = _ => "test-node";

    /// <summary>Configures the silos' logging (none by default).</summary>
    public Action<ILoggingBuilder>? ConfigureLogging { get; set; }

    internal List<Action<ISiloBuilder>> SiloConfigurations { get; } = [];
}

/// <summary>Builds a <see cref="TestCluster"/>.</summary>
public sealed class TestClusterBuilder(int initialSilosCount = 2)
{
    /// <summary>The options being built.</summary>
    public TestClusterOptions Options { get; } = new() { InitialSilosCount = initialSilosCount };

    /// <summary>Adds configuration applied to every silo (job handlers, options).</summary>
    public TestClusterBuilder ConfigureSilo(Action<ISiloBuilder> configure)
    {
        Options.SiloConfigurations.Add(configure);
        return this;
    }

    /// <summary>Builds the cluster; call <see cref="TestCluster.DeployAsync"/> to start it.</summary>
    public TestCluster Build()
    {
        if (Options.InitialSilosCount < 0)
            throw new ArgumentOutOfRangeException(nameof(Options.InitialSilosCount), Options.InitialSilosCount, "The silo count must not be negative.");
        return new TestCluster(Options);
    }
}
