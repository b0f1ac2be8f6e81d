using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Jobs.Silo.Hosting;
using Orleans.Jobs.Silo.Workers;
using Orleans.Jobs.Storage;
using Orleans.Runtime;
using Orleans.TestingHost;

namespace Orleans.Jobs.Benchmarks;

/// <summary>
/// What the benchmark's job handler saw inside in-process silos: how many jobs it ran, their pickup latencies (when
/// the payload is the enqueue's <see cref="Stopwatch"/> timestamp) and when the silos' workers started.
/// </summary>
public sealed class HandlerProbe(bool measureLatency = false)
{
    private int _jobs;
    private long _workersStarted;
    private double _cpuAtWorkersStart;

    public int Jobs => Volatile.Read(ref _jobs);

    public ConcurrentQueue<double> Latencies { get; } = new();

    /// <summary>The <see cref="Stopwatch"/> timestamp at which the first silo's workers started; 0 before.</summary>
    public long WorkersStarted => Interlocked.Read(ref _workersStarted);

    internal Task<string?> RunAsync(JobContext job)
    {
        if (measureLatency) Latencies.Enqueue(Stopwatch.GetElapsedTime(long.Parse(job.Payload)).TotalMilliseconds);
        Interlocked.Increment(ref _jobs);
        return NoResult;
    }

    private static readonly Task<string?> NoResult = Task.FromResult<string?>(null); // a no-op job allocates nothing of its own

    /// <summary>This process's CPU seconds when the first silo's workers started.</summary>
    public double CpuAtWorkersStart => Volatile.Read(ref _cpuAtWorkersStart);

    /// <summary>How long the last silo to start waited for the JIT to settle before its workers started (<see cref="JitSettling"/>).</summary>
    public double JitSettleSeconds { get; internal set; }

    /// <summary>Methods compiled and time spent compiling in this process when the first silo's workers started.</summary>
    public (long Methods, TimeSpan Time) JitAtWorkersStart { get; private set; }

    internal void OnWorkersStarting()
    {
        if (Interlocked.CompareExchange(ref _workersStarted, Stopwatch.GetTimestamp(), 0) == 0)
        {
            Volatile.Write(ref _cpuAtWorkersStart, WorkCounters.ProcessCpuSeconds());
            JitAtWorkersStart = (System.Runtime.JitInfo.GetCompiledMethodCount(), System.Runtime.JitInfo.GetCompilationTime());
        }
    }
}

/// <summary>
/// Real Orleans silos in this process: Orleans.TestingHost's <see cref="TestCluster"/>, each silo running
/// <c>AddOrleansJobs</c> configured the documented way (configuration keys: <c>Store</c>, <c>Workers</c>...) with
/// the benchmark's handler on one queue and, when asked, the benchmark's pipeline workers
/// (<see cref="BenchmarkPipelines.AddBenchmarkPipelines"/>). Orleans' test membership joins the silos
/// (<c>Cluster:Clustering=External</c>); without <c>Store:ConnectionString</c> they share the in-memory store of
/// <see cref="ServiceId"/>.
/// </summary>
public sealed class BenchmarkCluster : IAsyncDisposable
{
    private const string ProbeKey = "Benchmark:Probe";
    private const string QueueKey = "Benchmark:Queue";
    private const string PipelinesKey = "Benchmark:Pipelines";
    private static readonly TimeSpan StopDeadline = TimeSpan.FromSeconds(60);

    // Orleans creates silo configurators by type, so each cluster finds its probe by an id in its configuration.
    private static readonly ConcurrentDictionary<string, HandlerProbe> Probes = new();
    private readonly string _id = Guid.NewGuid().ToString("N");
    private readonly TestCluster _cluster;

    /// <summary>
    /// Builds (does not start) <paramref name="silos"/> silos running <paramref name="queue"/> with
    /// <paramref name="configuration"/>, and the benchmark's pipelines when <paramref name="pipelines"/>.
    /// </summary>
    public BenchmarkCluster(int silos, string queue, HandlerProbe probe, IReadOnlyDictionary<string, string> configuration, bool pipelines = false)
    {
        var builder = new TestClusterBuilder((short)silos);
        builder.Options.ServiceId = ServiceId = $"bench-{_id[..12]}";
        builder.Options.ConfigureFileLogging = false; // no logs/ folder in the working directory
        builder.Properties[ProbeKey] = _id;
        builder.Properties[QueueKey] = queue;
        builder.Properties[PipelinesKey] = pipelines ? "true" : "false";
        builder.Properties["Cluster:Clustering"] = "External";
        foreach (var (key, value) in configuration) builder.Properties[key] = value;
        builder.AddSiloBuilderConfigurator<BenchmarkSilo>();
        Probes[_id] = probe;
        _cluster = builder.Build();
    }

    /// <summary>The Orleans service id; the in-memory store is <c>InMemoryJobStores.ForService(ServiceId)</c>.</summary>
    public string ServiceId { get; }

    /// <summary>Starts the silos; returns when all of them are active.</summary>
    public Task DeployAsync() => _cluster.DeployAsync();

    private IServiceProvider PrimaryServices => ((InProcessSiloHandle)(_cluster.Primary ?? throw new InvalidOperationException("Deploy the cluster first."))).SiloHost.Services;

    /// <summary>Grain calls from inside the first silo, as a co-hosted producer makes them (stateless workers activate there).</summary>
    public IGrainFactory Grains => PrimaryServices.GetRequiredService<IGrainFactory>();

    /// <summary>An Orleans client of the cluster (TestingHost's, through the silos' gateways), as an application outside the silos.</summary>
    public IClusterClient Client => _cluster.Client;

    /// <summary>The first silo's job store.</summary>
    public IJobStore Store => PrimaryServices.GetRequiredService<IJobStore>();

    public async ValueTask DisposeAsync()
    {
        try
        {
            await _cluster.StopAllSilosAsync().WaitAsync(StopDeadline);
        }
        catch (TimeoutException)
        {
            // A silo that will not stop must not hang the run.
        }
        finally
        {
            await _cluster.DisposeAsync().AsTask().WaitAsync(StopDeadline).ContinueWith(_ => { });
            Probes.TryRemove(_id, out _);
        }
    }

    private sealed class BenchmarkSilo : ISiloConfigurator
    {
        public void Configure(ISiloBuilder silo)
        {
            var probe = Probes[silo.Configuration[ProbeKey] ?? throw new InvalidOperationException($"{ProbeKey} is not set.")];
            silo.AddJobHandler(silo.Configuration[QueueKey]!, (job, _) => probe.RunAsync(job));
            silo.Services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(new WorkersStartObserver(probe));
            if (silo.Configuration[PipelinesKey] == "true") silo.AddBenchmarkPipelines();
            silo.AddOrleansJobs();
        }
    }

    /// <summary>
    /// Notes the moment the silo's workers start: the stage just before theirs (<see cref="ServiceLifecycleStage.Active"/>),
    /// once the silo's start-up code is compiled (<see cref="JitSettling"/>).
    /// </summary>
    private sealed class WorkersStartObserver(HandlerProbe probe) : ILifecycleParticipant<ISiloLifecycle>
    {
        public void Participate(ISiloLifecycle lifecycle) =>
            lifecycle.Subscribe(nameof(WorkersStartObserver), ServiceLifecycleStage.Active - 1, async _ =>
            {
                probe.JitSettleSeconds = await JitSettling.WaitAsync();
                probe.OnWorkersStarting();
            });
    }
}

/// <summary>
/// Waits for the JIT to settle after a silo's start. Each run starts new silos in this process, and the runtime
/// recompiles hot start-up code in the background (tiered compilation) for a few seconds after: that work is part of
/// starting a silo, not of draining jobs, so the clock starts after it, as it starts after the silo's own start.
/// </summary>
public static class JitSettling
{
    /// <summary>Settled: fewer than <see cref="QuietMethods"/> methods compiled in the last <see cref="QuietFor"/>.</summary>
    public static readonly TimeSpan QuietFor = TimeSpan.FromSeconds(1);

    public const int QuietMethods = 10;

    /// <summary>The longest it waits.</summary>
    public static readonly TimeSpan MaxWait = TimeSpan.FromSeconds(20);

    /// <summary>Waits until the JIT has settled (or <see cref="MaxWait"/>); returns the seconds waited.</summary>
    public static async Task<double> WaitAsync()
    {
        var started = Stopwatch.GetTimestamp();
        var window = new Queue<(long At, long Compiled)>();
        while (Stopwatch.GetElapsedTime(started) < MaxWait)
        {
            var now = Stopwatch.GetTimestamp();
            var compiled = System.Runtime.JitInfo.GetCompiledMethodCount();
            window.Enqueue((now, compiled));
            while (Stopwatch.GetElapsedTime(window.Peek().At, now) > QuietFor) window.Dequeue();
            var oldest = window.Peek();
            if (Stopwatch.GetElapsedTime(started, now) >= QuietFor && Stopwatch.GetElapsedTime(oldest.At, now) >= QuietFor * 0.9 && compiled - oldest.Compiled < QuietMethods)
                break;
            await Task.Delay(TimeSpan.FromMilliseconds(100));
        }

        return Stopwatch.GetElapsedTime(started).TotalSeconds;
    }
}
