using System.Threading.Channels;
using Orleans.Jobs.Grains.Interfaces;

namespace Orleans.Jobs.Storage.PostgreSql;

/// <summary>A completion waiting to be written.</summary>
internal sealed record PendingCompletion(string Queue, long JobId, Guid LeaseToken, string? Result, DateTimeOffset FinishedAt)
{
    /// <summary>
    /// Its outcome. Continuations run where the batch's results are set, not each as a thread-pool work item: a batch
    /// of 1,000 otherwise woke the thread pool 1,000 times, and parking and waking its threads was most of a burn-down's
    /// CPU. What awaits a completion is short (a worker's bookkeeping; grain code resumes on its own scheduler anyway).
    /// </summary>
    public TaskCompletionSource<JobUpdateOutcome> Outcome { get; } = new();
}

/// <summary>
/// Writes completions in batches: one loop takes everything that queued up while the previous batch was being
/// written (up to a limit) and writes it in one statement. An idle system writes at once; a busy one amortises.
/// </summary>
internal sealed class CompletionBatcher : IAsyncDisposable
{
    private readonly Channel<PendingCompletion> _pending = Channel.CreateUnbounded<PendingCompletion>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Func<IReadOnlyList<PendingCompletion>, Task> _write;
    private readonly int _maxBatch;
    private readonly Task _loop;

    public CompletionBatcher(Func<IReadOnlyList<PendingCompletion>, Task> write, int maxBatch)
    {
        _write = write;
        _maxBatch = maxBatch;
        _loop = RunAsync();
    }

    public Task<JobUpdateOutcome> CompleteAsync(PendingCompletion completion)
    {
        if (!_pending.Writer.TryWrite(completion))
            throw new InvalidOperationException("The PostgreSQL store is stopped; completions are no longer accepted.");
        return completion.Outcome.Task;
    }

    private async Task RunAsync()
    {
        var batch = new List<PendingCompletion>(_maxBatch);
        while (await _pending.Reader.WaitToReadAsync())
        {
            batch.Clear();
            while (batch.Count < _maxBatch && _pending.Reader.TryRead(out var next)) batch.Add(next);
            try
            {
                await _write(batch);
            }
            catch (Exception e)
            {
                foreach (var completion in batch) completion.Outcome.TrySetException(e);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        _pending.Writer.TryComplete();
        await _loop;
    }
}
