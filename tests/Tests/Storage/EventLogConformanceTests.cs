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

    /// <summary>A page as "sequences | head H | oldest O": one comparison, and a failure shows the whole page.</summary>
    private static string Describe(EventLogPage page) =>
        $"{string.Join(",", page.Entries.Select(e => e.Sequence))} | head {page.Head} | oldest {page.Oldest}";
}
