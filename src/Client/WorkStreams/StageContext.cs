using System.Reflection;
using Orleans.Jobs.Grains.Interfaces.WorkStreams;

namespace Orleans.Jobs.Client.WorkStreams;

/// <summary>
/// What a stage of a <see cref="WorkStreamClient"/> forks through (Impetus' <c>self.fork</c>). Forks are numbered in
/// the order the stage makes them and sent in batches; a stage run again after a restart re-makes the same numbers,
/// and the stream skips those it already has.
/// </summary>
public sealed class StageContext
{
    private const int BatchSize = 500;
    private readonly IWorkStreamGrain _stream;
    private readonly ForkedFunctions _functions;
    private readonly string? _nextStage;
    private readonly CancellationToken _cancellationToken;
    private readonly List<ForkRequest> _pending = [];
    private readonly long _firstOrdinal; // the number of this run's first fork: the forks made for records acknowledged before
    private long _sent;

    internal StageContext(string streamId, string stage, string? nextStage, IWorkStreamGrain stream, ForkedFunctions functions, long firstOrdinal, CancellationToken cancellationToken)
    {
        StreamId = streamId;
        Stage = stage;
        _firstOrdinal = firstOrdinal;
        _nextStage = nextStage;
        _stream = stream;
        _functions = functions;
        _cancellationToken = cancellationToken;
    }

    /// <summary>The client's (and stream's) id.</summary>
    public string StreamId { get; }

    /// <summary>The stage running.</summary>
    public string Stage { get; }

    /// <summary>Forks this stage made in this run.</summary>
    public long Forked => _sent + _pending.Count;

    /// <summary>Cancelled when the run is.</summary>
    public CancellationToken CancellationToken => _cancellationToken;

    /// <summary>Forks <paramref name="function"/> with <paramref name="args"/>; its record goes to <paramref name="callback"/> (the next stage by default).</summary>
    /// <exception cref="ArgumentException">The function cannot travel, the arguments are not JSON-serialisable, or the callback is no later stage.</exception>
    public ValueTask ForkAsync<TArgs, TResult>(Func<TArgs, TResult> function, TArgs args, string? callback = null, ForkOptions? options = null) =>
        ForkAsync(function.Method, args, callback, options);

    /// <summary>Forks an asynchronous <paramref name="function"/>.</summary>
    /// <exception cref="ArgumentException">As the synchronous overload.</exception>
    public ValueTask ForkAsync<TArgs, TResult>(Func<TArgs, Task<TResult>> function, TArgs args, string? callback = null, ForkOptions? options = null) =>
        ForkAsync(function.Method, args, callback, options);

    /// <summary>Sends the forks not yet sent.</summary>
    public async Task FlushAsync()
    {
        if (_pending.Count == 0) return;
        await _stream.ForkAsync(Stage, _firstOrdinal + _sent, [.. _pending]).WaitAsync(_cancellationToken);
        _sent += _pending.Count;
        _pending.Clear();
    }

    private async ValueTask ForkAsync(MethodInfo method, object? args, string? callback, ForkOptions? options)
    {
        var target = callback ?? _nextStage
            ?? throw new ArgumentException($"Stage '{Stage}' is the last stage: a fork from it needs a later stage to go to. Add a process stage after it.", nameof(callback));
        _pending.Add(await _functions.ForkAsync(method, args, target, options, _cancellationToken));
        if (_pending.Count >= BatchSize) await FlushAsync();
    }
}
