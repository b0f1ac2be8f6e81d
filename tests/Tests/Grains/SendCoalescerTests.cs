using System.Collections.Concurrent;
using Orleans.Jobs.Grains.Interfaces;
using Orleans.Jobs.Grains.Queues;
using Orleans.Jobs.Storage;

namespace Orleans.Jobs.Tests.Grains;

/// <summary>
/// <see cref="SendCoalescer"/> against a fake write that the test holds open: sends that arrive during a write go into
/// the next one together, each gets its own ids, writes are bounded, and a failed write fails only its own sends.
/// </summary>
public sealed class SendCoalescerTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    /// <summary>A store write that hands out ascending ids; every write waits until <see cref="Release"/> (those after it pass at once).</summary>
    private sealed class HeldWrites
    {
        private long _lastId;
        private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public ConcurrentQueue<IReadOnlyList<QueueSend>> Writes { get; } = new();
        public SemaphoreSlim Started { get; } = new(0);
        /// <summary>The write (counted from 1) that throws <see cref="Failure"/>.</summary>
        public int FailWrite { get; set; }
        public Exception? Failure { get; set; }

        public void Release() => _released.TrySetResult();

        public async Task<IReadOnlyList<IReadOnlyList<long>>> WriteAsync(IReadOnlyList<QueueSend> sends)
        {
            Writes.Enqueue(sends);
            var number = Writes.Count; // writes never overlap
            Started.Release();
            await _released.Task.WaitAsync(Deadline);
            if (number == FailWrite) throw Failure!;

            return [.. sends.Select(s => (IReadOnlyList<long>)[.. s.Jobs.Select(_ => Interlocked.Increment(ref _lastId))])];
        }
    }

    /// <summary>A coalescer whose first send is being written (at once: no linger), held until the test releases it.</summary>
    private static async Task<(HeldWrites Store, SendCoalescer Coalescer, Task<IReadOnlyList<long>> First)> FirstWriteHeldAsync()
    {
        var store = new HeldWrites();
        var coalescer = new SendCoalescer(store.WriteAsync);
        var first = coalescer.SendAsync("a", Jobs("first", 1));
        Assert.True(await store.Started.WaitAsync(Deadline, TestContext.Current.CancellationToken));
        return (store, coalescer, first);
    }

    private static NewJob[] Jobs(string name, int count) => [.. Enumerable.Range(0, count).Select(i => new NewJob($"{name}-{i}", 0, null, false, 3))];

    [Fact]
    public async Task Sends_that_arrive_during_a_write_go_into_the_next_write_together_each_with_its_own_ids()
    {
        var (store, coalescer, first) = await FirstWriteHeldAsync();
        var waiting = Enumerable.Range(0, 20).Select(i => coalescer.SendAsync(i % 2 == 0 ? "a" : "b", Jobs($"s{i}", 1 + i % 3))).ToList();
        store.Release();

        var firstIds = await first.WaitAsync(Deadline, TestContext.Current.CancellationToken);
        var ids = await Task.WhenAll(waiting).WaitAsync(Deadline, TestContext.Current.CancellationToken);

        Assert.Equal(2, store.Writes.Count); // the first alone, then all twenty in one write
        var second = store.Writes.Last();
        Assert.Equal(Enumerable.Range(0, 20).Select(i => $"s{i}-0"), second.Select(s => s.Jobs[0].Payload)); // in arrival order
        Assert.Equal(Enumerable.Range(0, 20).Select(i => i % 2 == 0 ? "a" : "b"), second.Select(s => s.Queue));
        Assert.Equal([1L], firstIds);
        Assert.Equal(Enumerable.Range(0, 20).Select(i => 1 + i % 3), ids.Select(i => i.Count));
        var all = ids.SelectMany(i => i).ToList();
        Assert.Equal(Enumerable.Range(2, all.Count).Select(i => (long)i), all); // each send got its own run of ids, in order
    }

    [Fact]
    public async Task A_write_holds_at_most_the_batch_limit_of_jobs_and_the_rest_go_into_the_writes_after()
    {
        var (store, coalescer, first) = await FirstWriteHeldAsync();
        var half = QueueLimits.MaxBatchSize / 2;
        var waiting = new[] { coalescer.SendAsync("a", Jobs("x", half)), coalescer.SendAsync("b", Jobs("y", half)), coalescer.SendAsync("a", Jobs("z", 1)) };
        store.Release();
        await Task.WhenAll(waiting.Append(first)).WaitAsync(Deadline, TestContext.Current.CancellationToken);

        Assert.Equal([1, 2, 1], store.Writes.Select(w => w.Count)); // x and y fill one write to the limit; z waits for the next
        Assert.All(store.Writes, w => Assert.True(w.Sum(s => s.Jobs.Count) <= QueueLimits.MaxBatchSize));
    }

    [Fact]
    public async Task A_failed_write_fails_every_send_in_it_and_the_sends_after_it_are_still_written()
    {
        var (store, coalescer, first) = await FirstWriteHeldAsync();
        var failing = new[] { coalescer.SendAsync("a", Jobs("f1", 1)), coalescer.SendAsync("b", Jobs("f2", 2)) };
        var refusal = new InvalidOperationException("the store refused the write");
        (store.FailWrite, store.Failure) = (2, refusal);
        store.Release();
        Assert.Equal([1L], await first.WaitAsync(Deadline, TestContext.Current.CancellationToken));

        foreach (var send in failing)
            Assert.Same(refusal, await Assert.ThrowsAsync<InvalidOperationException>(() => send.WaitAsync(Deadline, TestContext.Current.CancellationToken)));
        var after = await coalescer.SendAsync("a", Jobs("after", 1)).WaitAsync(Deadline, TestContext.Current.CancellationToken);
        Assert.Single(after);
        Assert.Equal([1, 2, 1], store.Writes.Select(w => w.Count)); // the first, the failed write of f1 and f2, then the send after
    }
}
