using Orleans.Jobs.Storage;

namespace Orleans.Jobs.Benchmarks;

/// <summary>How every benchmark fills a queue: straight into the store, in batches of 1,000 (the peers' bulk-insert size).</summary>
public static class JobBatches
{
    public const int BatchSize = 1000;

    /// <summary>Adds <paramref name="count"/> jobs (payload <c>{}</c> unless <paramref name="payload"/> says otherwise) to <paramref name="queue"/>.</summary>
    public static async Task EnqueueAsync(IJobStore store, string queue, int count, int maxAttempts = 3, Func<int, string>? payload = null)
    {
        for (var sent = 0; sent < count; sent += BatchSize)
        {
            var first = sent;
            var batch = Enumerable.Range(first, Math.Min(BatchSize, count - first)).Select(i => new NewJob(payload?.Invoke(i) ?? "{}", 0, null, false, maxAttempts)).ToList();
            await store.EnqueueAsync(queue, batch, DateTimeOffset.UtcNow, CancellationToken.None);
        }
    }
}
