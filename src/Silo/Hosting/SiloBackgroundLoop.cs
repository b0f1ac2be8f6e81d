using Microsoft.Extensions.Logging;
using Orleans.Runtime;

namespace Orleans.Jobs.Silo.Hosting;

/// <summary>
/// The one start/stop contract of every background loop of ours on a silo. Nothing runs from a constructor: the loop
/// starts when the silo lifecycle reaches <see cref="Stage"/> and stops when the silo leaves it. A graceful stop
/// cancels the loop's token and calls <see cref="OnStoppingAsync"/>; a kill (the stop's token is already cancelled,
/// as for <c>TestCluster.KillSiloAsync</c>) only cancels, so nothing more is written anywhere, as when a process dies.
/// Every stop is bounded by the lifecycle's token.
/// </summary>
public abstract partial class SiloBackgroundLoop(ILogger logger) : ILifecycleParticipant<ISiloLifecycle>
{
    private readonly CancellationTokenSource _stopping = new();
    private readonly CancellationTokenSource _killed = new();
    private Task _loop = Task.CompletedTask;

    /// <summary>The lifecycle stage the loop runs in.</summary>
    protected abstract int Stage { get; }

    /// <summary>A name for the lifecycle and for logs.</summary>
    protected virtual string Name => GetType().Name;

    /// <summary>Cancelled when the silo was killed: record nothing more.</summary>
    protected CancellationToken Killed => _killed.Token;

    /// <summary>True once the silo was killed.</summary>
    protected bool IsKilled => _killed.IsCancellationRequested;

    /// <inheritdoc />
    public void Participate(ISiloLifecycle lifecycle) => lifecycle.Subscribe(Name, Stage, StartAsync, StopAsync);

    /// <summary>The loop; returns when <paramref name="stoppingToken"/> is cancelled.</summary>
    protected abstract Task RunAsync(CancellationToken stoppingToken);

    /// <summary>Called on a graceful stop after the loop's token was cancelled: drain, release, flush.</summary>
    protected virtual Task OnStoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private Task StartAsync(CancellationToken cancellationToken)
    {
        _loop = Task.Run(async () =>
        {
            try
            {
                await RunAsync(_stopping.Token);
            }
            catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
            {
            }
            catch (Exception e)
            {
                LogLoopFailed(logger, e, Name);
            }
        }, CancellationToken.None);
        return Task.CompletedTask;
    }

    private async Task StopAsync(CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested) await _killed.CancelAsync();
        await _stopping.CancelAsync();
        if (IsKilled) return;
        try
        {
            await OnStoppingAsync(cancellationToken);
            await _loop.WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await _killed.CancelAsync(); // out of time: whatever is left is abandoned, as on a kill
        }
    }

    [LoggerMessage(Level = LogLevel.Critical, Message = "Background loop {Name} stopped with an error")]
    private static partial void LogLoopFailed(ILogger logger, Exception exception, string name);
}
