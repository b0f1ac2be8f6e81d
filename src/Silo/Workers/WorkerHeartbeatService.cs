using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Jobs.Grains.Interfaces.Heartbeats;
using Orleans.Jobs.Silo.Hosting;
using Orleans.Runtime;

namespace Orleans.Jobs.Silo.Workers;

/// <summary>
/// Beats for this silo's workers every <see cref="HeartbeatRules.Interval"/> (JobMon's worker heartbeats): working or
/// resting, the current job, jobs done. When the answer is Stop, the workers stop taking jobs and finish the running
/// ones (<see cref="JobWorkerService.StopTakingJobs"/>); the beats then say Stopping until they are done.
/// </summary>
public sealed partial class WorkerHeartbeatService(
    JobWorkerService workers,
    IGrainFactory grains,
    IOptions<JobsSiloOptions> siloOptions,
    TimeProvider timeProvider,
    ILogger<WorkerHeartbeatService> logger) : SiloBackgroundLoop(logger)
{
    private readonly DateTimeOffset _startedAt = timeProvider.GetUtcNow();

    /// <summary>This silo's worker id in the heartbeat list.</summary>
    public string WorkerId => "silo:" + workers.Owner;

    /// <inheritdoc />
    protected override int Stage => ServiceLifecycleStage.Active;

    /// <inheritdoc />
    protected override async Task RunAsync(CancellationToken stoppingToken)
    {
        if (!workers.HasHandlers) return; // a silo that only hosts grains is not a worker
        var heartbeats = grains.GetGrain<IWorkerHeartbeatGrain>(0);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var command = await heartbeats.BeatAsync(Beat()).WaitAsync(stoppingToken);
                if (command == WorkerCommand.Stop && !workers.StoppedTakingJobs)
                {
                    LogStopping(workers.RunningJobs);
                    workers.StopTakingJobs();
                }
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                LogBeatFailed(e); // the next beat tries again
            }

            await Task.Delay(HeartbeatRules.Interval, timeProvider, stoppingToken);
        }
    }

    private WorkerBeat Beat()
    {
        var current = workers.CurrentJob;
        var status = workers.StoppedTakingJobs ? WorkerStatus.Stopping : current is null ? WorkerStatus.Resting : WorkerStatus.Working;
        return new WorkerBeat(WorkerId, "silo", siloOptions.Value.Node, status, current, workers.JobsDone, _startedAt);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Told to stop: taking no more jobs, finishing {Running} running")]
    private partial void LogStopping(int running);

    [LoggerMessage(Level = LogLevel.Debug, Message = "A worker heartbeat failed; retrying")]
    private partial void LogBeatFailed(Exception exception);
}
