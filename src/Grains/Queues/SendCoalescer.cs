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
    public Task<IReadOnlyList<long>> SendAsync(string queue, IReadOnlyList<NewJob> jobs)
    {
        // Continuations run off the write loop, so no caller's code holds up the next write.
        var send = new PendingSend(new QueueSend(queue, jobs), new TaskCompletionSource<IReadOnlyList<long>>(TaskCreationOptions.RunContinuationsAsynchronously));
        bool start;
        lock (_pending)
        {
            _pending.Enqueue(send);
            start = !_writing;
            _writing = true;
        }

        // The loop runs on the thread pool, not in the calling grain's turn, and ends when nothing is left to write.
        if (start) _ = Task.Run(WriteLoopAsync);
        return send.Ids.Task;
    }

    private async Task WriteLoopAsync()
    {
        var batch = new List<PendingSend>();
        while (true)
        {
            batch.Clear();
            lock (_pending)
            {
                var jobs = 0;
                while (_pending.TryPeek(out var next) && (batch.Count == 0 || jobs + next.Send.Jobs.Count <= QueueLimits.MaxBatchSize))
                {
                    batch.Add(_pending.Dequeue());
                    jobs += next.Send.Jobs.Count;
                }

                if (batch.Count == 0)
                {
                    _writing = false;
                    return;
                }
            }

            await WriteAsync(batch);
        }
    }

    /// <summary>Writes one batch and answers its callers; never throws, so the loop outlives any failed write.</summary>
    private async Task WriteAsync(List<PendingSend> batch)
    {
        try
        {
            var sends = new QueueSend[batch.Count];
            for (var i = 0; i < sends.Length; i++) sends[i] = batch[i].Send;
            var ids = await write(sends);
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
