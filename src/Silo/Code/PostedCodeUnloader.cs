using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Jobs.Grains.Code;
using Orleans.Jobs.Silo.Hosting;
using Orleans.Runtime;

namespace Orleans.Jobs.Silo.Code;

/// <summary>
/// Every <see cref="PostedCodeOptions.CheckPeriod"/>, asks the posted-code runner to unload the versions that were
/// removed or sat idle, so a removed version leaves a silo even when no job for it comes by.
/// </summary>
public sealed partial class PostedCodeUnloader(PostedCodeRunner runner, IOptions<PostedCodeOptions> options, TimeProvider timeProvider, ILogger<PostedCodeUnloader> logger)
    : SiloBackgroundLoop(logger)
{
    /// <inheritdoc />
    protected override int Stage => ServiceLifecycleStage.Active;

    /// <inheritdoc />
    protected override async Task RunAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            await Task.Delay(options.Value.CheckPeriod, timeProvider, stoppingToken);
            try
            {
                await runner.CheckLoadedAsync(stoppingToken);
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                LogCheckFailed(e);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Checking the loaded posted code failed; trying again next period")]
    private partial void LogCheckFailed(Exception exception);
}
