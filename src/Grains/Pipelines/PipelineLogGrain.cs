using Orleans.Concurrency;
using Orleans.Jobs.Grains.Interfaces.Pipelines;

namespace Orleans.Jobs.Grains.Pipelines;

/// <summary>Reads the finished-pipelines log: a stateless worker on the caller's silo, reentrant so long waits block nothing.</summary>
[StatelessWorker, Reentrant]
public sealed class PipelineLogGrain(FinishedPipelineLog log) : Grain, IPipelineLogGrain
{
    /// <inheritdoc />
    public Task<FinishedPage> ReadFinishedAsync(long after, int max, TimeSpan wait) => log.ReadAsync(after, max, wait, CancellationToken.None);
}
