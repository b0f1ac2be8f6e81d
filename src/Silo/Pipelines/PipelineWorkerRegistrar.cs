using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Orleans.Jobs.Grains.Interfaces.Pipelines;
using Orleans.Jobs.Silo.Hosting;
using Orleans.Runtime;

namespace Orleans.Jobs.Silo.Pipelines;

/// <summary>
/// Tells the cluster's worker directory which pipeline workers this silo runs: when the silo becomes active, then
/// every <see cref="Refresh"/> (so a directory whose storage was lost fills again). A silo with pipeline workers and
/// no pipeline store fails to start, naming the fix.
/// </summary>
public sealed partial class PipelineWorkerRegistrar : SiloBackgroundLoop
{
    /// <summary>How often the silo registers its workers again.</summary>
    public static readonly TimeSpan Refresh = TimeSpan.FromMinutes(1);

    private readonly IReadOnlyList<string> _workers;
    private readonly IGrainFactory _grains;
    private readonly ILocalSiloDetails _silo;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger<PipelineWorkerRegistrar> _logger;

    /// <summary>Creates the registrar; it starts with the silo.</summary>
    public PipelineWorkerRegistrar(IEnumerable<PipelineWorkerRegistration> registrations, IServiceProvider services, IGrainFactory grains, ILocalSiloDetails silo, TimeProvider timeProvider, ILogger<PipelineWorkerRegistrar> logger) : base(logger)
    {
        _workers = [.. registrations.Select(r => r.Name)];
        var duplicate = _workers.GroupBy(w => w, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
            throw new InvalidOperationException($"Pipeline worker '{duplicate.Key}' is registered {duplicate.Count()} times on this silo; register each worker name once.");
        if (_workers.Count > 0 && services.GetService<IPipelineStore>() is null)
            throw new InvalidOperationException(
                $"This silo runs pipeline workers ({string.Join(", ", _workers)}) but has no pipeline store: call UsePipelineFileStore, UsePipelinePostgresStore or UsePipelineStore on the silo builder.");
        _grains = grains;
        _silo = silo;
        _timeProvider = timeProvider;
        _logger = logger;
    }

    /// <summary>The workers this silo runs.</summary>
    public IReadOnlyList<string> Workers => _workers;

    /// <summary>Becomes true once the directory knows this silo's workers.</summary>
    public bool Registered { get; private set; }

    /// <inheritdoc />
    protected override int Stage => ServiceLifecycleStage.Active;

    /// <inheritdoc />
    protected override async Task RunAsync(CancellationToken stoppingToken)
    {
        if (_workers.Count == 0) return;
        var directory = _grains.GetGrain<IPipelineWorkerDirectoryGrain>(0);
        while (!stoppingToken.IsCancellationRequested)
        {
            var wait = Refresh;
            try
            {
                await directory.RegisterAsync(_silo.SiloAddress.ToParsableString(), _workers).WaitAsync(stoppingToken);
                Registered = true;
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                LogRegisterFailed(e, string.Join(", ", _workers));
                wait = TimeSpan.FromSeconds(1);
            }

            await Task.Delay(wait, _timeProvider, stoppingToken);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Registering pipeline workers {Workers} failed; retrying")]
    private partial void LogRegisterFailed(Exception exception, string workers);
}
