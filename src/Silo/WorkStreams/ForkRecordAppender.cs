using Orleans.Jobs.Storage;

namespace Orleans.Jobs.Silo.WorkStreams;

/// <summary>
/// Appends the records of a silo's workers to their result logs, many in one keyed append. A keyed append holds its
/// log's head row until it commits, so appends to one log run one after another, each waiting for its own commit:
/// one record per append caps a stream at one record per commit, whatever its workers. Here the first record of a
/// log is appended at once, and the records that arrive while an append is in flight go together in the next one
/// (group commit: no added wait when records are rare). Each keeps its key, so a record of a second run is still
/// not added.
/// </summary>
internal sealed class ForkRecordAppender(IEventLogStore logs, TimeProvider timeProvider)
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, List<Waiting>> _waiting = new(StringComparer.Ordinal);

    /// <summary>Appends <paramref name="entry"/> to <paramref name="log"/> once per key; completes when the store took it.</summary>
    /// <exception cref="Exception">The store did not take the append that carried it (the whole batch failed).</exception>
    public Task AppendAsync(string log, KeyedLogEntry entry)
    {
        var waiting = new Waiting(entry, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        bool first;
        lock (_gate)
        {
            first = !_waiting.TryGetValue(log, out var queue);
            if (first) _waiting[log] = queue = [];
            queue!.Add(waiting);
        }

        // The caller that finds no queue drains it; the others only wait for their record's batch.
        if (first) _ = Task.Run(() => DrainAsync(log), CancellationToken.None);
        return waiting.Appended.Task;
    }

    private async Task DrainAsync(string log)
    {
        while (true)
        {
            List<Waiting> batch;
            lock (_gate)
            {
                var queue = _waiting[log];
                if (queue.Count == 0)
                {
                    _waiting.Remove(log);
                    return;
                }

                batch = [.. queue.Take(EventLogRules.MaxAppendCount)];
                queue.RemoveRange(0, batch.Count);
            }

            try
            {
                await logs.AppendOnceAsync(log, [.. batch.Select(w => w.Entry)], timeProvider.GetUtcNow(), CancellationToken.None);
                foreach (var waiting in batch) waiting.Appended.SetResult();
            }
            catch (Exception e)
            {
                foreach (var waiting in batch) waiting.Appended.SetException(e);
            }
        }
    }

    private sealed record Waiting(KeyedLogEntry Entry, TaskCompletionSource Appended);
}
