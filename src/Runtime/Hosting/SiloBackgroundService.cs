using Microsoft.Extensions.Hosting;

namespace Orleans.Jobs.Runtime.Hosting;

/// <summary>
/// The start/stop contract of every silo background service: <see cref="RunAsync"/> runs until the host stops it
/// (graceful) or the silo is killed (abrupt: the token is cancelled and <see cref="OnStoppedAsync"/> is skipped).
/// </summary>
public abstract class SiloBackgroundService(SiloLifetime lifetime) : BackgroundService
{
    /// <summary>The lifetime of the hosting silo.</summary>
    protected SiloLifetime Lifetime => lifetime;

    /// <summary>The service's work, until <paramref name="stoppingToken"/> is cancelled.</summary>
    protected abstract Task RunAsync(CancellationToken stoppingToken);

    /// <summary>Cleanup after a graceful stop; not called when the silo was killed.</summary>
    protected virtual Task OnStoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc />
    protected sealed override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken, lifetime.Killed);
        try
        {
            await RunAsync(linked.Token);
        }
        catch (OperationCanceledException) when (linked.IsCancellationRequested)
        {
        }
    }

    /// <inheritdoc />
    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        if (!lifetime.IsKilled)
            await OnStoppedAsync(cancellationToken);
    }
}
