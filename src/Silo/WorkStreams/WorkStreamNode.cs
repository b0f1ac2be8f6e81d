using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Jobs.Grains.Interfaces.WorkStreams;
using Orleans.Jobs.Silo.Hosting;
using Orleans.Runtime;

namespace Orleans.Jobs.Silo.WorkStreams;

/// <summary>
/// The Node role of a silo (Impetus' Node): it reads the directory of active streams on a timer, tracks each one
/// listed, starts workers for it at the stream's <see cref="WorkStreamProperties.SpawnFrequency"/> up to its
/// <see cref="WorkStreamProperties.MaxWorkersPerNode"/>, and stops tracking it once the stream leaves the directory
/// (idle past its timeout, or closed). Each tracked stream is a <see cref="TrackedWorkStream"/>.
/// </summary>
public sealed partial class WorkStreamNode : SiloBackgroundLoop
{
    private readonly IGrainFactory _grains;
    private readonly WorkStreamWorkerContext _context;
    private readonly WorkStreamNodeOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger<WorkStreamNode> _logger;
    private readonly Dictionary<string, TrackedWorkStream> _tracked = new(StringComparer.Ordinal);

    internal WorkStreamNode(IGrainFactory grains, WorkStreamWorkerContext context, IOptions<WorkStreamNodeOptions> options, TimeProvider timeProvider, ILogger<WorkStreamNode> logger)
        : base(logger)
    {
        _grains = grains;
        _context = context;
        _options = options.Value;
        _timeProvider = timeProvider;
        _logger = logger;
    }

    /// <summary>The streams tracked now, by id, with their running workers.</summary>
    public IReadOnlyDictionary<string, int> Tracked
    {
        get
        {
            lock (_tracked) return _tracked.ToDictionary(t => t.Key, t => t.Value.Workers);
        }
    }

    /// <inheritdoc />
    protected override int Stage => ServiceLifecycleStage.Active;

    /// <inheritdoc />
    protected override async Task RunAsync(CancellationToken stoppingToken)
    {
        if (!_options.Enabled) return;
        var directory = _grains.GetGrain<IWorkStreamDirectoryGrain>(0);
        using var timer = new PeriodicTimer(_options.DirectoryPollInterval, _timeProvider);
        do
        {
            IReadOnlyList<ActiveWorkStream> active;
            try
            {
                active = await directory.ListAsync().WaitAsync(stoppingToken);
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                LogDirectoryFailed(e);
                continue;
            }

            Reconcile(active, stoppingToken);
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    /// <inheritdoc />
    protected override async Task OnStoppingAsync(CancellationToken cancellationToken)
    {
        List<TrackedWorkStream> tracked;
        lock (_tracked) tracked = [.. _tracked.Values];
        await Task.WhenAll(tracked.Select(t => t.StopAsync(_options.ShutdownTimeout, cancellationToken)));
    }

    private void Reconcile(IReadOnlyList<ActiveWorkStream> active, CancellationToken stoppingToken)
    {
        var listed = active.ToDictionary(a => a.StreamId, StringComparer.Ordinal);
        lock (_tracked)
        {
            foreach (var (id, stream) in _tracked.Where(t => !listed.ContainsKey(t.Key)).ToList())
            {
                _tracked.Remove(id);
                _ = stream.StopAsync(_options.ShutdownTimeout, CancellationToken.None)
                    .ContinueWith(_ => LogStoppedTracking(id), TaskScheduler.Default);
            }

            foreach (var (id, stream) in listed)
            {
                if (_tracked.TryGetValue(id, out var known))
                {
                    known.Properties = stream.Properties;
                    continue;
                }

                LogTracking(id, stream.Properties.MaxWorkersPerNode, stream.Properties.SpawnFrequency, stream.Properties.Isolation);
                var tracked = new TrackedWorkStream(id, stream.Properties, _context, Killed, _logger);
                _tracked[id] = tracked;
                tracked.Start(stoppingToken);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "tracking stream {StreamId} (up to {MaxWorkers} workers, {Frequency} spawns/s, {Isolation})")]
    private partial void LogTracking(string streamId, int maxWorkers, double frequency, WorkerIsolation isolation);

    [LoggerMessage(Level = LogLevel.Information, Message = "stopped tracking stream {StreamId}")]
    private partial void LogStoppedTracking(string streamId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not read the work-stream directory; trying again")]
    private partial void LogDirectoryFailed(Exception exception);
}
