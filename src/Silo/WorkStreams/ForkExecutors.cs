using Microsoft.Extensions.Logging;
using Orleans.Jobs.Grains.Code;
using Orleans.Jobs.Silo.Code;
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

/// <summary>Makes a worker's executor for the stream's isolation: the silo's runner, or a child process of the worker's own.</summary>
internal sealed class ForkExecutorFactory(PostedCodeRunner runner, PostedCodeCache cache, ILogger<IsolatedCodeProcess> logger)
{
    public async Task<IForkExecutor> CreateAsync(WorkerIsolation isolation, CancellationToken cancellationToken) => isolation switch
    {
        WorkerIsolation.InSilo => new InSiloForkExecutor(runner),
        WorkerIsolation.Process => new ChildProcessForkExecutor(await IsolatedCodeProcess.StartAsync(cache, logger, cancellationToken: cancellationToken)),
        _ => throw new ArgumentOutOfRangeException(nameof(isolation), isolation, "Unknown worker isolation."),
    };

    /// <summary>A worker that is a child process (Impetus' Worker with its pid): a crash takes down only the child; the worker starts a new one.</summary>
    private sealed class ChildProcessForkExecutor(IsolatedCodeProcess child) : IForkExecutor
    {
        public int? ProcessId => child.ProcessId;

        public Task<string?> RunAsync(PostedFunctionCall call, long jobId, int attempt, CancellationToken cancellationToken) =>
            child.RunAsync(call, jobId, attempt, cancellationToken, resultAsJson: true);

        public ValueTask DisposeAsync() => child.DisposeAsync();
    }

    private sealed class InSiloForkExecutor(PostedCodeRunner runner) : IForkExecutor
    {
        public int? ProcessId => null;

        public Task<string?> RunAsync(PostedFunctionCall call, long jobId, int attempt, CancellationToken cancellationToken) =>
            runner.RunAsync(call, jobId, attempt, cancellationToken, resultAsJson: true);

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
