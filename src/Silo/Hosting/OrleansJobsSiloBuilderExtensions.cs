using System.Data.Common;
using System.Net;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using Orleans.Configuration;
using Orleans.Jobs.Client.Hosting;
using Orleans.Jobs.Grains;
using Orleans.Jobs.Grains.Pipelines;
using Orleans.Jobs.Grains.Queues;
using Orleans.Jobs.Silo.Code;
using Orleans.Jobs.Silo.Pipelines;
using Orleans.Jobs.Silo.WorkStreams;
using Orleans.Jobs.Silo.Workers;
using Orleans.Jobs.Grains.WorkStreams;
using Orleans.Jobs.Storage;
using Orleans.Jobs.Storage.InMemory;
using Orleans.Jobs.Storage.PostgreSql;

namespace Orleans.Jobs.Silo.Hosting;

/// <summary>Plugs Orleans.Jobs into an Orleans silo: <c>builder.UseOrleans(silo => silo.AddOrleansJobs())</c>.</summary>
public static class OrleansJobsSiloBuilderExtensions
{
    /// <summary>The prefix of environment variables Orleans.Jobs reads, such as <c>ORLEANSJOBS_Store__ConnectionString</c>.</summary>
    public const string EnvironmentPrefix = "ORLEANSJOBS_";

    /// <summary>Binds <see cref="QueueOptions"/>.</summary>
    public const string QueuesSection = "Queues";

    /// <summary>Binds <see cref="WorkerOptions"/>.</summary>
    public const string WorkersSection = "Workers";

    /// <summary>Binds <see cref="PipelineOptions"/>.</summary>
    public const string PipelinesSection = "Pipelines";

    /// <summary>Binds <see cref="WorkStreamOptions"/>.</summary>
    public const string WorkStreamsSection = "WorkStreams";

    /// <summary>Binds <see cref="WorkStreamNodeOptions"/>.</summary>
    public const string WorkStreamNodeSection = "WorkStreamNode";

    /// <summary>Binds <see cref="PostgresStoreOptions"/>; a <c>ConnectionString</c> here selects the PostgreSQL store.</summary>
    public const string StoreSection = "Store";

    /// <summary>
    /// The size of Orleans' grain directory cache (<see cref="GrainDirectoryOptions.CacheSize"/>) on a silo whose host
    /// leaves it at Orleans' default of 1,000,000: that cache is made with room for all its entries at start, 18 MB of an
    /// idle silo's 22 MB heap. A silo here calls far fewer remote grains (queue controls, pipelines, jobsets, streams);
    /// one that calls more looks the rest up again in the directory.
    /// </summary>
    public const int DirectoryCacheSize = 100_000;

    /// <summary>
    /// Adds Orleans.Jobs to a silo: the job store, the queue and routing grains, this silo's workers and dead-silo
    /// recovery, and the runner of posted code with its <c>code</c> queue. Options come from the host's configuration
    /// over <c>ORLEANSJOBS_</c> environment variables (sections <c>Silo</c>, <c>Cluster</c>, <c>Store</c>,
    /// <c>Queues</c>, <c>Workers</c>, <c>Pipelines</c>, <c>PostedCode</c>, <c>WorkStreams</c>, <c>WorkStreamNode</c>, <c>Gateway</c>), then from <paramref name="configure"/>.
    /// <para>
    /// Unless told otherwise (<c>Cluster:Clustering</c>, <c>Silo:Persistence</c>) it also picks Orleans' providers to
    /// match the store: on the in-memory store, localhost clustering, memory grain storage and in-memory reminders (the
    /// embedded default); on PostgreSQL, ADO.NET clustering, grain storage and reminders in the same database — or Redis
    /// clustering when <c>Cluster:Redis</c> is set. A silo given a connection string never falls back to memory.
    /// </para>
    /// </summary>
    /// <exception cref="Microsoft.Extensions.Options.OptionsValidationException">A setting is invalid; the message names it.</exception>
    public static ISiloBuilder AddOrleansJobs(this ISiloBuilder silo, Action<JobsBuilder>? configure = null)
    {
        if (IsAdded(silo))
            throw new InvalidOperationException("AddOrleansJobs was called twice on one silo; call it once, with all its configuration.");
        silo.Services.AddSingleton<OrleansJobsMarker>();
        var configuration = new ConfigurationBuilder()
            .AddEnvironmentVariables(EnvironmentPrefix)
            .AddConfiguration(silo.Configuration)   // the host's own sources win over the prefixed environment
            .Build();
        var jobs = new JobsBuilder(silo, configuration);
        configure?.Invoke(jobs);
        if (!jobs.StoreChosen && !string.IsNullOrWhiteSpace(configuration.GetSection(StoreSection)["ConnectionString"]))
            jobs.UsePostgresStore();

        var services = silo.Services;
        services.AddOptions<JobsSiloOptions>().Bind(configuration.GetSection(JobsSiloOptions.Section)).ValidateOnStart();
        services.AddOptions<QueueOptions>().Bind(configuration.GetSection(QueuesSection));
        services.AddOptions<WorkerOptions>().Bind(configuration.GetSection(WorkersSection)).ValidateOnStart();
        services.AddOptions<PipelineOptions>().Bind(configuration.GetSection(PipelinesSection));
        services.AddOptions<WorkStreamOptions>().Bind(configuration.GetSection(WorkStreamsSection));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<JobsSiloOptions>, JobsSiloOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<WorkerOptions>, WorkerOptionsValidator>());

        AddJobStore(silo, jobs.Postgres);
        ConfigureOrleansProviders(silo, configuration, jobs.Postgres);

        services.AddJobGrains();
        silo.AddIncomingGrainCallFilter<JobStoreErrorFilter>();
        services.AddSingleton<JobWorkerService>();
        services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(sp => sp.GetRequiredService<JobWorkerService>());
        services.AddSingleton<WorkerHeartbeatService>();
        services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(sp => sp.GetRequiredService<WorkerHeartbeatService>());
        services.AddSingleton<DeadSiloJobRecovery>();
        services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(sp => sp.GetRequiredService<DeadSiloJobRecovery>());
        services.AddSingleton<JobsSiloStatus>();
        services.AddSingleton<PipelineWorkerRegistrar>();
        services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(sp => sp.GetRequiredService<PipelineWorkerRegistrar>());
        silo.AddPostedCode(configuration);
        silo.AddWorkStreamNode(configuration);
        // Only Orleans' default is replaced: a size the host set before this call stays, and one set after it wins.
        services.Configure<GrainDirectoryOptions>(o =>
        {
            if (o.CacheSize == GrainDirectoryOptions.DEFAULT_CACHE_SIZE) o.CacheSize = DirectoryCacheSize;
        });
        return silo;
    }

    /// <summary>True when <see cref="AddOrleansJobs"/> was called on <paramref name="silo"/>.</summary>
    public static bool IsAdded(ISiloBuilder silo) => silo.Services.Any(d => d.ServiceType == typeof(OrleansJobsMarker));

    private sealed class OrleansJobsMarker;

    private static void AddJobStore(ISiloBuilder silo, PostgresStoreOptions? postgres)
    {
        var services = silo.Services;
        // Both providers keep event logs (the finished-pipelines log) beside the jobs.
        services.AddSingleton<IEventLogStore>(sp => sp.GetRequiredService<IJobStore>() as IEventLogStore
            ?? throw new InvalidOperationException($"The job store {sp.GetRequiredService<IJobStore>().GetType().Name} does not keep event logs."));
        if (postgres is null)
        {
            services.AddSingleton<IJobStore>(sp => InMemoryJobStores.ForService(sp.GetRequiredService<IOptions<ClusterOptions>>().Value.ServiceId));
            return;
        }

        var validation = new PostgresStoreOptionsValidator().Validate(null, postgres);
        if (validation.Failed)
            throw new OptionsValidationException(StoreSection, typeof(PostgresStoreOptions), validation.Failures);
        services.AddSingleton(Options.Create(postgres));
        services.AddSingleton<PostgresJobStore>(sp => new PostgresJobStore(postgres, sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<PostgresJobStore>>()));
        services.AddSingleton<IJobStore>(sp => sp.GetRequiredService<PostgresJobStore>());
        services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(sp => new JobStoreLifecycle(sp.GetRequiredService<PostgresJobStore>()));
    }

    /// <summary>Picks Orleans' clustering, grain storage and reminders to match the job store, unless the host configures them.</summary>
    private static void ConfigureOrleansProviders(ISiloBuilder silo, IConfiguration configuration, PostgresStoreOptions? postgres)
    {
        var cluster = new ClusterConnectionOptions();
        configuration.GetSection(ClusterConnectionOptions.Section).Bind(cluster);
        if (ClusterConnectionRules.Check(cluster) is { } failure)
            throw new OptionsValidationException(ClusterConnectionOptions.Section, typeof(ClusterConnectionOptions), [failure]);
        var siloOptions = new JobsSiloOptions();
        configuration.GetSection(JobsSiloOptions.Section).Bind(siloOptions);
        if (postgres is not null) DbProviderFactories.RegisterFactory(PostgresStoreOptions.AdoNetInvariant, NpgsqlFactory.Instance);
        if (cluster.Tls.IsEnabled) silo.UseTls(cluster.Tls.ToOrleans()); // whatever the clustering: a TestCluster's silos too

        var clustering = cluster.Clustering switch
        {
            ClusteringKind.Auto when !string.IsNullOrWhiteSpace(cluster.Redis) => ClusteringKind.Redis,
            ClusteringKind.Auto when postgres is not null => ClusteringKind.AdoNet,
            ClusteringKind.Auto => ClusteringKind.Localhost,
            var kind => kind,
        };
        if (clustering == ClusteringKind.AdoNet && postgres is null)
            throw new OptionsValidationException(ClusterConnectionOptions.Section, typeof(ClusterConnectionOptions), ["Cluster:Clustering AdoNet needs the PostgreSQL job store: set Store:ConnectionString."]);
        if (clustering == ClusteringKind.Static)
            throw new OptionsValidationException(ClusterConnectionOptions.Section, typeof(ClusterConnectionOptions), ["Cluster:Clustering Static is for clients; a silo needs Localhost, Redis, AdoNet or External."]);

        if (clustering != ClusteringKind.External)
        {
            silo.Configure<ClusterOptions>(o => (o.ClusterId, o.ServiceId) = (cluster.ClusterId, cluster.ServiceId));
            silo.Configure<ClusterMembershipOptions>(MembershipTiming.Apply);
        }

        switch (clustering)
        {
            case ClusteringKind.Localhost:
                silo.UseLocalhostClustering(cluster.SiloPort, cluster.GatewayPort, null, cluster.ServiceId, cluster.ClusterId);
                break;
            case ClusteringKind.Redis:
                silo.UseRedisClustering(cluster.Redis!);
                silo.ConfigureEndpoints(IPAddress.Parse(cluster.AdvertisedAddress), cluster.SiloPort, cluster.GatewayPort);
                break;
            case ClusteringKind.AdoNet:
                silo.UseAdoNetClustering(o => (o.Invariant, o.ConnectionString) = (PostgresStoreOptions.AdoNetInvariant, postgres!.OrleansConnectionString()));
                silo.ConfigureEndpoints(IPAddress.Parse(cluster.AdvertisedAddress), cluster.SiloPort, cluster.GatewayPort);
                break;
        }

        var persistence = siloOptions.Persistence switch
        {
            PersistenceKind.Auto => postgres is null ? PersistenceKind.Memory : PersistenceKind.AdoNet,
            var kind => kind,
        };
        if (persistence == PersistenceKind.AdoNet && postgres is null)
            throw new OptionsValidationException(JobsSiloOptions.Section, typeof(JobsSiloOptions), ["Silo:Persistence AdoNet needs the PostgreSQL job store: set Store:ConnectionString."]);
        switch (persistence)
        {
            case PersistenceKind.Memory:
                silo.AddMemoryGrainStorage(JobGrainStorage.Name);
                silo.UseInMemoryReminderService();
                break;
            case PersistenceKind.AdoNet:
                silo.AddAdoNetGrainStorage(JobGrainStorage.Name, o => (o.Invariant, o.ConnectionString) = (PostgresStoreOptions.AdoNetInvariant, postgres!.OrleansConnectionString()));
                silo.UseAdoNetReminderService(o => (o.Invariant, o.ConnectionString) = (PostgresStoreOptions.AdoNetInvariant, postgres!.OrleansConnectionString()));
                break;
        }
    }
}

/// <summary>
/// Orleans membership timing chosen so a dead silo is declared dead — and its monitored jobs return — in well under
/// 15 s: probes every <see cref="ProbeTimeout"/>, <see cref="MissedProbes"/> missed in a row make a suspicion, and
/// the default two votes declare it. When too few live silos remain to vote (two of three killed at once), Orleans
/// lowers the votes needed once the dead silos' "I am alive" rows are stale, so the staleness window
/// (<see cref="IAmAlivePeriod"/> × <see cref="MissedIAmAlives"/>, 10 s) bounds that case too; with Orleans' 30 s
/// default it took about a minute.
/// </summary>
public static class MembershipTiming
{
    /// <summary>How long a probe may take and how often silos probe each other.</summary>
    public static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(2);

    /// <summary>Missed probes before a silo suspects another.</summary>
    public const int MissedProbes = 2;

    /// <summary>How often each silo writes its "I am alive" time to the membership table (one small write).</summary>
    public static readonly TimeSpan IAmAlivePeriod = TimeSpan.FromSeconds(5);

    /// <summary>Missed "I am alive" writes after which a silo's row is stale and its vote no longer needed.</summary>
    public const int MissedIAmAlives = 2;

    /// <summary>Applies the timing.</summary>
    public static void Apply(ClusterMembershipOptions options)
    {
        options.ProbeTimeout = ProbeTimeout;
        options.NumMissedProbesLimit = MissedProbes;
        options.TableRefreshTimeout = TimeSpan.FromSeconds(5);
        options.IAmAliveTablePublishTimeout = IAmAlivePeriod;
        options.NumMissedTableIAmAliveLimit = MissedIAmAlives;
    }
}
