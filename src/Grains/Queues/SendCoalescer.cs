using Orleans.Jobs.Grains.Interfaces;
using Orleans.Jobs.Storage;

namespace Orleans.Jobs.Grains.Queues;

/// <summary>
/// Writes the sends that reach one silo's data plane together (group commit). Sends to any queue that arrive while a
/// write is under way wait for it and go into the next one: one store call for all of them, on PostgreSQL one
/// transaction (one insert, one notification per queue). A transaction that notified commits alone and waits for its
/// own WAL flush, so one per send capped a silo's sends at one flush each, however many clients sent.
/// <para>
/// No timer: an idle silo writes a send at once; a busy one amortises each write over the sends that queued meanwhile,
/// at most <see cref="QueueLimits.MaxBatchSize"/> jobs a write. Callers validate their jobs first, so one bad job never
/// fails the others; each caller gets its own ids, and when a write fails, every send in it gets that exception.
/// </para>
/// </summary>
internal sealed class SendCoalescer(Func<IReadOnlyList<QueueSend>, Task<IReadOnlyList<IReadOnlyList<long>>>> write)
{
    private readonly Queue<PendingSend> _pending = new();
    private bool _writing;

    /// <summary>Adds a validated send to the next write; completes with its ids in order once that write commits.</summary>
    /// <remarks>
    /// The caller's continuation runs on the thread that answers it: callers are grains, whose continuations only queue
    /// on their own activation, so no caller's code holds up the next write (and no extra hop delays the answer).
    /// </remarks>
    public Task<IReadOnlyList<long>> SendAsync(string queue, IReadOnlyList<NewJob> jobs)
    {
        var send = new PendingSend(new QueueSend(queue, jobs), new TaskCompletionSource<IReadOnlyList<long>>());
        List<PendingSend>? batch = null;
        lock (_pending)
        {
            _pending.Enqueue(send);
            if (!_writing)
            {
                _writing = true;
                batch = TakeBatch();
            }
        }

        // Idle: this caller starts the write itself, so a lone send reaches the store without a hop to another thread.
        if (batch is not null) _ = WriteLoopAsync(batch);
        return send.Ids.Task;
    }

    /// <summary>Writes batches until none is waiting; after the first write it runs on the store's completions, never in a caller's turn.</summary>
    private async Task WriteLoopAsync(List<PendingSend> batch)
    {
        while (true)
        {
            await WriteAsync(batch).ConfigureAwait(false);
            lock (_pending)
            {
                batch = TakeBatch();
                if (batch.Count == 0)
                {
                    _writing = false;
                    return;
                }
            }
        }
    }

    /// <summary>The sends waiting, oldest first, up to <see cref="QueueLimits.MaxBatchSize"/> jobs (always at least one send). Called under the lock.</summary>
    private List<PendingSend> TakeBatch()
    {
        var batch = new List<PendingSend>();
        var jobs = 0;
        while (_pending.TryPeek(out var next) && (batch.Count == 0 || jobs + next.Send.Jobs.Count <= QueueLimits.MaxBatchSize))
        {
            batch.Add(_pending.Dequeue());
            jobs += next.Send.Jobs.Count;
        }

        return batch;
    }

    /// <summary>Writes one batch and answers its callers; never throws, so the loop outlives any failed write.</summary>
    private async Task WriteAsync(List<PendingSend> batch)
    {
        try
        {
            var sends = new QueueSend[batch.Count];
            for (var i = 0; i < sends.Length; i++) sends[i] = batch[i].Send;
            var ids = await write(sends).ConfigureAwait(false);
            if (ids.Count != batch.Count)
                throw new InvalidOperationException($"The job store answered {ids.Count} sends' ids for {batch.Count} sends; it must answer one list of ids per send.");
            for (var i = 0; i < batch.Count; i++) batch[i].Ids.TrySetResult(ids[i]);
        }
        catch (Exception e)
        {
            foreach (var send in batch) send.Ids.TrySetException(e);
        }
    }

    private sealed record PendingSend(QueueSend Send, TaskCompletionSource<IReadOnlyList<long>> Ids);
}
