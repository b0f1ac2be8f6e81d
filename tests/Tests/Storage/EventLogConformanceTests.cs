using Microsoft.Extensions.Time.Testing;
using Orleans.Jobs.Storage;

namespace Orleans.Jobs.Tests.Storage;

/// <summary>
/// The contract every <see cref="IEventLogStore"/> provider must meet. A provider's test class derives from this and
/// supplies a fresh, empty store; every test here then runs against it.
/// </summary>
public abstract class EventLogConformanceTests : IAsyncLifetime
{
    protected FakeTimeProvider Clock { get; } = new(new DateTimeOffset(2026, 12, 1, 12, 0, 0, TimeSpan.Zero));
    protected IEventLogStore Store { get; private set; } = null!;
    protected static CancellationToken Ct => TestContext.Current.CancellationToken;
    private DateTimeOffset Now => Clock.GetUtcNow();

    /// <summary>Creates an empty store for one test.</summary>
    protected abstract Task<IEventLogStore> CreateStoreAsync();

    /// <summary>
    /// A second store over <see cref="Store"/>'s data, as another silo would open it (disposed with the test), or
    /// <see cref="Store"/> itself where a provider cannot share its data between instances.
    /// </summary>
    protected abstract Task<IEventLogStore> OpenAnotherStoreAsync();

    /// <summary>Returns once every signal already sent, from this process or another, has reached <see cref="Store"/>'s subscriptions.</summary>
    protected abstract Task DeliverSignalsInFlightAsync();

    public async ValueTask InitializeAsync() => Store = await CreateStoreAsync();

    public virtual ValueTask DisposeAsync() => (Store as IAsyncDisposable)?.DisposeAsync() ?? ValueTask.CompletedTask;

    private Task<EventLogPage> ReadAllAsync(string log, long after = 0) => Store.ReadAsync(log, after, EventLogRules.MaxReadCount, Ct);

    [Fact]
    public async Task Sequences_start_at_1_and_follow_each_other_in_batch_order()
    {
        Assert.Equal([1L], await Store.AppendAsync("log", ["a"], Now, Ct));
        Clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal([2L, 3L, 4L], await Store.AppendAsync("log", ["b", "c", "d"], Now, Ct));
        Assert.Empty(await Store.AppendAsync("log", [], Now, Ct));

        var page = await ReadAllAsync("log");
        Assert.Equal("1,2,3,4 | head 4 | oldest 1", Describe(page));
        Assert.Equal(["a", "b", "c", "d"], page.Entries.Select(e => e.Payload));
        Assert.Equal(Now - TimeSpan.FromSeconds(1), page.Entries[0].AppendedAt);
        Assert.Equal(Now, page.Entries[3].AppendedAt);
    }

    [Fact]
    public async Task Logs_are_independent()
    {
        await Store.AppendAsync("left", ["l1", "l2"], Now, Ct);
        Assert.Equal([1L], await Store.AppendAsync("right", ["r1"], Now, Ct));
        Assert.Equal([3L], await Store.AppendAsync("left", ["l3"], Now, Ct));

        Assert.Equal(["r1"], (await ReadAllAsync("right")).Entries.Select(e => e.Payload));
        Assert.Equal(2, await Store.TrimAsync("left", Now + TimeSpan.FromDays(1), Ct));
        Assert.Equal("1 | head 1 | oldest 1", Describe(await ReadAllAsync("right")));
        Assert.Equal("3 | head 3 | oldest 3", Describe(await ReadAllAsync("left")));
    }

    [Fact]
    public async Task Reads_return_what_follows_a_sequence_up_to_max_with_the_head_and_the_oldest()
    {
        await Store.AppendAsync("log", Enumerable.Range(1, 10).Select(i => $"e{i}").ToList(), Now, Ct);

        var page = await Store.ReadAsync("log", 3, 4, Ct);
        Assert.Equal("4,5,6,7 | head 10 | oldest 1", Describe(page));
        Assert.Equal(["e4", "e5", "e6", "e7"], page.Entries.Select(e => e.Payload));

        Assert.Equal("10 | head 10 | oldest 1", Describe(await Store.ReadAsync("log", 9, 100, Ct)));
        Assert.Equal(" | head 10 | oldest 1", Describe(await Store.ReadAsync("log", 10, 1, Ct)));
        Assert.Equal(" | head 10 | oldest 1", Describe(await Store.ReadAsync("log", 500, 1, Ct)));
        Assert.Equal(" | head 0 | oldest 1", Describe(await Store.ReadAsync("never-written", 0, 10, Ct)));
    }

    [Fact]
    public async Task Trims_delete_old_entries_but_keep_the_head_and_never_reuse_a_sequence()
    {
        var start = Now;
        await Store.AppendAsync("log", ["a", "b", "c"], Now, Ct);
        Clock.Advance(TimeSpan.FromMinutes(1));
        await Store.AppendAsync("log", ["d", "e"], Now, Ct);

        Assert.Equal(0, await Store.TrimAsync("log", start, Ct));
        Assert.Equal(3, await Store.TrimAsync("log", Now, Ct));
        var page = await ReadAllAsync("log");
        Assert.Equal("4,5 | head 5 | oldest 4", Describe(page));
        Assert.Equal(["d", "e"], page.Entries.Select(e => e.Payload));

        // Everything is old enough now, but the head stays: it is what says where the log stands.
        Assert.Equal(1, await Store.TrimAsync("log", Now + TimeSpan.FromDays(1), Ct));
        Assert.Equal(0, await Store.TrimAsync("log", Now + TimeSpan.FromDays(1), Ct));
        Assert.Equal("5 | head 5 | oldest 5", Describe(await ReadAllAsync("log")));

        // A reader that saw 2 learns from Oldest that 3 and 4 are gone; new entries never take a trimmed sequence.
        Assert.True((await ReadAllAsync("log", after: 2)).Oldest - 1 > 2);
        Assert.Equal([6L, 7L], await Store.AppendAsync("log", ["f", "g"], Now, Ct));
        Assert.Equal("5,6,7 | head 7 | oldest 5", Describe(await ReadAllAsync("log")));
        Assert.Equal(0, await Store.TrimAsync("unknown", Now, Ct));
    }

    [Fact]
    public async Task Trims_take_only_a_prefix_so_the_entries_kept_have_no_holes()
    {
        // Appenders' clocks can disagree: entry 2 says it is older than entry 1.
        await Store.AppendAsync("log", ["one"], Now, Ct);
        await Store.AppendAsync("log", ["two"], Now - TimeSpan.FromMinutes(5), Ct);
        await Store.AppendAsync("log", ["three"], Now + TimeSpan.FromMinutes(5), Ct);

        Assert.Equal(0, await Store.TrimAsync("log", Now, Ct)); // 1 is not old enough, so 2 stays too
        Assert.Equal(2, await Store.TrimAsync("log", Now + TimeSpan.FromMinutes(1), Ct));
        Assert.Equal("3 | head 3 | oldest 3", Describe(await ReadAllAsync("log")));
    }

    public static TheoryData<string> InvalidLogNames => new() { null!, "", "has space", "#hash", "a@node", "é", new string('x', EventLogRules.MaxLogNameLength + 1) };

    [Theory]
    [MemberData(nameof(InvalidLogNames))]
    public async Task Invalid_log_names_are_refused_with_the_rule_everywhere(string log)
    {
        foreach (var call in new Func<Task>[]
        {
            () => Store.AppendAsync(log, ["x"], Now, Ct),
            () => Store.ReadAsync(log, 0, 10, Ct),
            () => Store.TrimAsync(log, Now, Ct),
            () => Task.FromResult(Store.SubscribeLog(log)),
        })
        {
            var error = await Assert.ThrowsAnyAsync<ArgumentException>(call);
            Assert.Equal("log", error.ParamName);
            Assert.Contains($"1 to {EventLogRules.MaxLogNameLength} characters", error.Message);
        }
    }

    [Fact]
    public async Task Invalid_appends_are_refused_naming_the_entry_and_append_nothing()
    {
        await Store.AppendAsync("log", ["kept"], Now, Ct);

        var nul = await Assert.ThrowsAsync<ArgumentException>(() => Store.AppendAsync("log", ["fine", "bad\0text", "fine"], Now, Ct));
        Assert.Equal("payloads[1]", nul.ParamName);
        Assert.Contains("NUL", nul.Message);
        var missing = await Assert.ThrowsAsync<ArgumentNullException>(() => Store.AppendAsync("log", ["fine", null!], Now, Ct));
        Assert.Equal("payloads[1]", missing.ParamName);
        var surrogate = await Assert.ThrowsAsync<ArgumentException>(() => Store.AppendAsync("log", ["\ud800"], Now, Ct));
        Assert.Equal("payloads[0]", surrogate.ParamName);
        Assert.Equal("payloads", (await Assert.ThrowsAsync<ArgumentNullException>(() => Store.AppendAsync("log", null!, Now, Ct))).ParamName);
        var tooMany = Enumerable.Repeat("x", EventLogRules.MaxAppendCount + 1).ToList();
        Assert.Equal("payloads", (await Assert.ThrowsAsync<ArgumentException>(() => Store.AppendAsync("log", tooMany, Now, Ct))).ParamName);

        var page = await ReadAllAsync("log");
        Assert.Equal("1 | head 1 | oldest 1", Describe(page));
        Assert.Equal(["kept"], page.Entries.Select(e => e.Payload));
        Assert.Equal([2L], await Store.AppendAsync("log", ["next"], Now, Ct)); // no sequence was used up
    }

    [Theory]
    [InlineData(-1, 10, "after")]
    [InlineData(0, 0, "max")]
    [InlineData(0, -5, "max")]
    [InlineData(0, EventLogRules.MaxReadCount + 1, "max")]
    public async Task Invalid_reads_are_refused_naming_the_parameter(long after, int max, string field)
    {
        var error = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => Store.ReadAsync("log", after, max, Ct));
        Assert.Equal(field, error.ParamName);
        Assert.Contains(field, error.Message);
    }

    [Fact]
    public async Task Concurrent_appenders_get_every_sequence_once_and_readers_never_see_a_gap()
    {
        const int writers = 8, appendsEach = 50, total = writers * appendsEach;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        stop.CancelAfter(Eventually.DefaultDeadline); // the reader must not outlive a failed test

        // A reader follows the log while it grows: commit order must equal sequence order, or it would see N+2 before N+1.
        var reader = Task.Run(async () =>
        {
            long seen = 0;
            while (seen < total)
            {
                var page = await Store.ReadAsync("log", seen, 1000, stop.Token);
                foreach (var entry in page.Entries)
                    Assert.Equal(++seen, entry.Sequence);
            }

            return seen;
        }, stop.Token);

        var appended = await Task.WhenAll(Enumerable.Range(0, writers).Select(w => Task.Run(async () =>
        {
            var mine = new List<(long Sequence, string Payload)>();
            for (var i = 0; i < appendsEach; i++)
            {
                var payload = $"w{w}-{i}";
                mine.Add((Assert.Single(await Store.AppendAsync("log", [payload], Now, Ct)), payload));
            }

            return mine;
        }, Ct)));

        var all = appended.SelectMany(a => a).OrderBy(a => a.Sequence).ToList();
        Assert.Equal(Enumerable.Range(1, total).Select(i => (long)i), all.Select(a => a.Sequence));
        Assert.All(appended, mine => Assert.True(mine.Select(m => m.Sequence).SequenceEqual(mine.Select(m => m.Sequence).Order()), "one writer's appends are in order"));

        var page = await ReadAllAsync("log");
        Assert.Equal(all.Select(a => a.Payload), page.Entries.Select(e => e.Payload));
        Assert.Equal((total, 1), ((int)page.Head, (int)page.Oldest));
        Assert.Equal(total, await Eventually.WithinAsync(reader, "the reader to follow the log to its head"));
    }

    [Fact]
    public async Task An_append_wakes_the_subscribers_of_its_log_only()
    {
        using var subscription = Store.SubscribeLog("log");
        var waiting = subscription.WaitAsync(TimeSpan.FromHours(1), Clock, Ct);
        await Store.AppendAsync("log", ["wake up"], Now, Ct);
        Assert.True(await Eventually.WithinAsync(waiting, "the subscription to wake on an append"));

        using var otherLog = Store.SubscribeLog("quiet");
        using var sameNamedQueue = ((IJobStore)Store).SubscribeAvailability("log");
        using var busy = Store.SubscribeLog("log");
        var idleLog = otherLog.WaitAsync(TimeSpan.FromSeconds(10), Clock, Ct);
        var idleQueue = sameNamedQueue.WaitAsync(TimeSpan.FromSeconds(10), Clock, Ct);
        await Store.AppendAsync("log", ["not for the others"], Now, Ct);
        Assert.True(await Eventually.WithinAsync(busy.WaitAsync(TimeSpan.FromHours(1), Clock, Ct), "the signal for log")); // delivered by now
        Assert.False(idleLog.IsCompleted);
        Assert.False(idleQueue.IsCompleted);
        Clock.Advance(TimeSpan.FromSeconds(10));
        Assert.False(await Eventually.WithinAsync(idleLog, "the other log's subscription to time out"));
        Assert.False(await Eventually.WithinAsync(idleQueue, "the queue's subscription to time out"));
    }

    [Fact]
    public async Task An_append_between_subscribing_and_waiting_is_not_lost()
    {
        using var subscription = Store.SubscribeLog("log");
        await Store.AppendAsync("log", ["early"], Now, Ct);
        Assert.True(await subscription.WaitAsync(TimeSpan.FromHours(1), Clock, Ct));
    }

    [Fact]
    public async Task Keyed_appends_add_new_keys_in_order_and_report_a_repeated_key_at_its_first_sequence()
    {
        Assert.Equal(Added(1, 2, 3), await Store.AppendOnceAsync("log", [new("a", "a1"), new("b", "b1"), new("c", "c1")], Now, Ct));

        // Repeated across calls (b) and within one call (d twice): the first sequence comes back, nothing is added.
        var results = await Store.AppendOnceAsync("log", [new("b", "b2"), new("d", "d1"), new("d", "d2"), new("e", "e1")], Now, Ct);
        Assert.Equal([new(2, false), new(4, true), new(4, false), new(5, true)], results);
        Assert.Equal([new(1, false), new(5, false)], await Store.AppendOnceAsync("log", [new("a", "a3"), new("e", "e2")], Now, Ct));
        Assert.Empty(await Store.AppendOnceAsync("log", [], Now, Ct));

        var page = await ReadAllAsync("log");
        Assert.Equal("1,2,3,4,5 | head 5 | oldest 1", Describe(page));
        Assert.Equal(["a1", "b1", "c1", "d1", "e1"], page.Entries.Select(e => e.Payload));

        // Keys belong to their log.
        Assert.Equal(Added(1), await Store.AppendOnceAsync("other", [new("a", "other a")], Now, Ct));
    }

    [Fact]
    public async Task Keyed_and_plain_appends_interleave_without_gaps()
    {
        Assert.Equal([1L, 2L], await Store.AppendAsync("log", ["p1", "p2"], Now, Ct));
        Assert.Equal(Added(3, 4), await Store.AppendOnceAsync("log", [new("k1", "k1"), new("k2", "k2")], Now, Ct));
        Assert.Equal([5L], await Store.AppendAsync("log", ["p3"], Now, Ct));
        Assert.Equal([new(4, false), new(6, true)], await Store.AppendOnceAsync("log", [new("k2", "again"), new("k3", "k3")], Now, Ct));

        // At once, from two stores: plain writers and keyed writers (each key its own) share one run of sequences.
        const int before = 6, writers = 4, appendsEach = 25, total = before + writers * appendsEach;
        var stores = new[] { Store, await OpenAnotherStoreAsync() };
        var appended = await Task.WhenAll(Enumerable.Range(0, writers).Select(w => Task.Run(async () =>
        {
            var store = stores[w % 2];
            var mine = new List<long>();
            for (var i = 0; i < appendsEach; i++)
            {
                var payload = $"w{w}-{i}";
                mine.Add(w < writers / 2
                    ? Assert.Single(await store.AppendAsync("log", [payload], Now, Ct))
                    : Assert.Single(await store.AppendOnceAsync("log", [new(payload, payload)], Now, Ct)).Sequence);
            }

            return mine;
        }, Ct)));

        Assert.Equal(Enumerable.Range(before + 1, total - before).Select(i => (long)i), appended.SelectMany(a => a).Order());
        Assert.Equal($"{string.Join(",", Enumerable.Range(1, total))} | head {total} | oldest 1", Describe(await ReadAllAsync("log")));
    }

    [Fact]
    public async Task Concurrent_keyed_appends_from_two_stores_add_each_key_once_without_gaps()
    {
        const int keys = 120, writers = 6, batch = 7;
        var stores = new[] { Store, await OpenAnotherStoreAsync() };

        // Every writer appends every key, in its own shuffled order and in batches, so the writers' batches overlap.
        var appended = await Task.WhenAll(Enumerable.Range(0, writers).Select(w => Task.Run(async () =>
        {
            var store = stores[w % 2];
            var order = Enumerable.Range(0, keys).Select(k => $"k{k}").ToArray();
            new Random(w).Shuffle(order);
            var mine = new List<(string Key, KeyedAppendResult Result, int Writer)>();
            foreach (var chunk in order.Chunk(batch))
            {
                var results = await store.AppendOnceAsync("log", chunk.Select(key => new KeyedLogEntry(key, $"{key} by w{w}")).ToList(), Now, Ct);
                mine.AddRange(chunk.Zip(results, (key, result) => (key, result, w)));
            }

            return mine;
        }, Ct)));

        var byKey = appended.SelectMany(a => a).GroupBy(a => a.Key).ToList();
        Assert.Equal(keys, byKey.Count);
        Assert.All(byKey, key =>
        {
            Assert.Single(key.Select(k => k.Result.Sequence).Distinct()); // every writer was told the same sequence
            Assert.Single(key, k => k.Result.Added); // and exactly one added it
        });

        var page = await ReadAllAsync("log");
        Assert.Equal($"{string.Join(",", Enumerable.Range(1, keys))} | head {keys} | oldest 1", Describe(page));
        var adders = byKey.Select(key => key.Single(k => k.Result.Added)).ToDictionary(k => k.Result.Sequence, k => $"{k.Key} by w{k.Writer}");
        Assert.All(page.Entries, entry => Assert.Equal(adders[entry.Sequence], entry.Payload)); // each entry is its adder's
    }

    [Fact]
    public async Task A_key_outlives_the_trim_of_its_entry()
    {
        await Store.AppendOnceAsync("log", [new("fork-1", "first run")], Now, Ct);
        Clock.Advance(TimeSpan.FromMinutes(1));
        await Store.AppendOnceAsync("log", [new("fork-2", "first run")], Now, Ct);
        Assert.Equal(1, await Store.TrimAsync("log", Now, Ct));
        Assert.Equal("2 | head 2 | oldest 2", Describe(await ReadAllAsync("log")));

        // fork-1's entry is gone, but a second run of fork-1 is still refused, with the sequence it had.
        Assert.Equal([new(1, false), new(3, true)], await Store.AppendOnceAsync("log", [new("fork-1", "second run"), new("fork-3", "first run")], Now, Ct));
        var page = await ReadAllAsync("log");
        Assert.Equal("2,3 | head 3 | oldest 2", Describe(page));
        Assert.Equal(["first run", "first run"], page.Entries.Select(e => e.Payload));
    }

    public static TheoryData<string, string> InvalidKeys => new()
    {
        { "", "1 to 256 characters" },
        { new string('k', EventLogRules.MaxKeyLength + 1), "1 to 256 characters" },
        { "nul\0inside", "control characters (NUL included)" },
        { "line\nbreak", "control characters" },
    };

    [Theory]
    [MemberData(nameof(InvalidKeys))]
    public async Task Invalid_keys_are_refused_naming_the_entry_and_the_rule_and_append_nothing(string key, string rule)
    {
        await Store.AppendOnceAsync("log", [new("kept", "kept")], Now, Ct);

        var error = await Assert.ThrowsAsync<ArgumentException>(() => Store.AppendOnceAsync("log", [new("fine", "x"), new(key, "x")], Now, Ct));
        Assert.Equal("entries[1].Key", error.ParamName);
        Assert.Contains("The entries[1].Key ", error.Message);
        Assert.Contains(rule, error.Message);

        Assert.Equal("1 | head 1 | oldest 1", Describe(await ReadAllAsync("log")));
        Assert.Equal(Added(2), await Store.AppendOnceAsync("log", [new("fine", "x")], Now, Ct)); // "fine" was not kept, no sequence used up
    }

    [Fact]
    public async Task Invalid_keyed_appends_are_refused_naming_the_field_and_append_nothing()
    {
        Assert.Equal(Added(1), await Store.AppendOnceAsync("log", [new(new string('k', EventLogRules.MaxKeyLength), "the longest key")], Now, Ct));

        // Here rather than in the theory: xUnit's serialized theory data would turn the lone surrogate into U+FFFD.
        var surrogate = await Assert.ThrowsAsync<ArgumentException>(() => Store.AppendOnceAsync("log", [new("half \ud800", "x")], Now, Ct));
        Assert.Equal("entries[0].Key", surrogate.ParamName);
        Assert.Contains("unpaired UTF-16 surrogate", surrogate.Message);
        var payload = await Assert.ThrowsAsync<ArgumentException>(() => Store.AppendOnceAsync("log", [new("k", "bad\0text")], Now, Ct));
        Assert.Equal("entries[0].Payload", payload.ParamName);
        Assert.Equal("entries[0].Key", (await Assert.ThrowsAsync<ArgumentNullException>(() => Store.AppendOnceAsync("log", [new(null!, "x")], Now, Ct))).ParamName);
        Assert.Equal("entries[1]", (await Assert.ThrowsAsync<ArgumentNullException>(() => Store.AppendOnceAsync("log", [new("k", "x"), null!], Now, Ct))).ParamName);
        Assert.Equal("entries", (await Assert.ThrowsAsync<ArgumentNullException>(() => Store.AppendOnceAsync("log", null!, Now, Ct))).ParamName);
        var tooMany = Enumerable.Range(0, EventLogRules.MaxAppendCount + 1).Select(i => new KeyedLogEntry($"k{i}", "x")).ToList();
        var count = await Assert.ThrowsAsync<ArgumentException>(() => Store.AppendOnceAsync("log", tooMany, Now, Ct));
        Assert.Equal("entries", count.ParamName);
        Assert.Contains($"the limit is {EventLogRules.MaxAppendCount}", count.Message);
        Assert.Equal("log", (await Assert.ThrowsAnyAsync<ArgumentException>(() => Store.AppendOnceAsync("#bad", [new("k", "x")], Now, Ct))).ParamName);

        Assert.Equal("1 | head 1 | oldest 1", Describe(await ReadAllAsync("log")));
    }

    [Fact]
    public async Task A_keyed_append_signals_subscribers_only_when_it_adds()
    {
        using var subscription = Store.SubscribeLog("log");
        await Store.AppendOnceAsync("log", [new("a", "a"), new("b", "b")], Now, Ct);
        Assert.True(await Eventually.WithinAsync(subscription.WaitAsync(TimeSpan.FromHours(1), Clock, Ct), "the subscription to wake on a keyed append"));
        await DeliverSignalsInFlightAsync();
        await subscription.WaitAsync(TimeSpan.Zero, Clock, Ct); // takes what that append may still have pending (a NOTIFY's echo)

        Assert.All(await Store.AppendOnceAsync("log", [new("b", "b again"), new("a", "a again")], Now, Ct), r => Assert.False(r.Added));
        await DeliverSignalsInFlightAsync();
        Assert.False(await subscription.WaitAsync(TimeSpan.Zero, Clock, Ct), "an append that added nothing signalled");

        await Store.AppendOnceAsync("log", [new("b", "b again"), new("c", "c")], Now, Ct);
        Assert.True(await Eventually.WithinAsync(subscription.WaitAsync(TimeSpan.FromHours(1), Clock, Ct), "the subscription to wake when one entry of several is new"));
    }

    private static KeyedAppendResult[] Added(params long[] sequences) => [.. sequences.Select(s => new KeyedAppendResult(s, true))];

    /// <summary>A page as "sequences | head H | oldest O": one comparison, and a failure shows the whole page.</summary>
    private static string Describe(EventLogPage page) =>
        $"{string.Join(",", page.Entries.Select(e => e.Sequence))} | head {page.Head} | oldest {page.Oldest}";
}
