using Orleans.Jobs.Grains.Code;
using Orleans.Jobs.Grains.Interfaces.Code;
using Orleans.Jobs.Grains.Interfaces.WorkStreams;

namespace Orleans.Jobs.Silo.WorkStreams;

/// <summary>Runs one worker's forks: in the silo, or in a child process the worker owns.</summary>
internal interface IForkExecutor : IAsyncDisposable
{
    /// <summary>The child process running the forks; null when they run in the silo.</summary>
    int? ProcessId { get; }

    /// <summary>Runs a posted function; returns its result as JSON.</summary>
    /// <exception cref="PostedCodeException">The function threw, or the code cannot run it: the fork's record is an error.</exception>
    Task<string?> RunAsync(PostedFunctionCall call, long jobId, int attempt, CancellationToken cancellationToken);
}

/// <summary>Makes a worker's executor for the stream's isolation.</summary>
internal sealed class ForkExecutorFactory(PostedCodeRunner runner)
{
    public Task<IForkExecutor> CreateAsync(WorkerIsolation isolation, CancellationToken cancellationToken) => isolation switch
    {
        WorkerIsolation.InSilo => Task.FromResult<IForkExecutor>(new InSiloForkExecutor(runner)),
        _ => throw new NotSupportedException($"Worker isolation {isolation} is not available on this silo."),
    };

    private sealed class InSiloForkExecutor(PostedCodeRunner runner) : IForkExecutor
    {
        public int? ProcessId => null;

        public Task<string?> RunAsync(PostedFunctionCall call, long jobId, int attempt, CancellationToken cancellationToken) =>
            runner.RunAsync(call, jobId, attempt, cancellationToken, resultAsJson: true);

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
