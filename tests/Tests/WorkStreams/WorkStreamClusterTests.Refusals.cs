using Orleans.Jobs.Client.WorkStreams;
using Orleans.Jobs.Grains.Interfaces;
using Orleans.Jobs.Grains.Interfaces.WorkStreams;

namespace Orleans.Jobs.Tests.WorkStreams;

/// <summary>Bad input to a stream: each refused with an error naming the problem, and nothing stored.</summary>
public abstract partial class WorkStreamClusterTests
{
    private static async Task RefusedAsync<TException>(Func<Task> call, params string[] naming) where TException : Exception
    {
        var refused = await Assert.ThrowsAnyAsync<TException>(call);
        foreach (var part in naming) Assert.Contains(part, refused.Message);
    }

    /// <summary>Asserts that no fork of stream <paramref name="id"/> reached its queue, its counters or its result logs.</summary>
    private async Task AssertNothingForkedAsync(string id)
    {
        Assert.Equal(new QueueCounts(0, 0, 0, 0, 0), await Grains.GetGrain<IQueueGrain>(WorkStreamRules.Queue(id)).GetCountsAsync());
        var progress = await Grains.GetGrain<IWorkStreamGrain>(id).GetProgressAsync();
        Assert.All(progress.Stages, s => Assert.Equal((0L, 0L, 0L), (s.Forked, s.Expected, s.Received)));
    }

    private WorkStreamClient ClientForking(string id, Func<StageContext, ValueTask> fork) =>
        new WorkStreamClient(Grains, WorkStreamCluster.ClusterKey, new WorkStreamClientOptions { Id = id, Log = TextWriter.Null, StallTimeout = StallTimeout })
            .Startup("start", async stage =>
            {
                await stage.ForkAsync(ForkProbes.Square, 1); // a good fork first: it must not be queued either
                await fork(stage);
            })
            .Process("stage1", (_, _, _) => Task.CompletedTask);

    [Fact]
    public async Task Forking_a_lambda_a_local_function_an_instance_or_a_private_method_is_refused_saying_why_and_nothing_is_queued()
    {
        static int Local(int i) => i + 1;
        (Func<StageContext, ValueTask> Fork, string Why)[] cases =
        [
            (s => s.ForkAsync((int i) => i + 1, 1), "it is a lambda or local function"),
            (s => s.ForkAsync(Local, 1), "it is a lambda or local function"),
            (s => s.ForkAsync(new Multiplier(3).Times, 1), "it is not static"),
            (s => s.ForkAsync(PrivateSquare, 1), "it or its type is not public"),
            (s => s.ForkAsync(HiddenFunctions.Square, 1), "it or its type is not public"),
        ];
        foreach (var (fork, why) in cases)
        {
            var id = NewId("not-forkable");
            await RefusedAsync<ArgumentException>(() => ClientForking(id, fork).RunAsync(Ct), why, "Fork a public static method of a public type");
            await AssertNothingForkedAsync(id);
        }
    }

    [Fact]
    public async Task A_fork_whose_callback_is_not_a_later_stage_is_refused_naming_it_and_nothing_of_its_batch_is_queued()
    {
        var probes = await fixture.Probes;
        var (id, stream) = await NewStreamAsync("callbacks", new WorkStreamProperties(), "start", "stage1", "stage2");

        await RefusedAsync<ArgumentException>(() => stream.ForkAsync("stage1", 0, [probes.Square(1, "stage2"), probes.Square(2, "start")]), "forks[1].Callback 'start' is not after stage 'stage1'");
        await RefusedAsync<ArgumentException>(() => stream.ForkAsync("stage1", 0, [probes.Square(1, "stage1")]), "forks[0].Callback 'stage1' is not after stage 'stage1'");
        await RefusedAsync<ArgumentException>(() => stream.ForkAsync("start", 0, [probes.Square(1, "nowhere")]), "has no stage 'nowhere'; its stages: start, stage1, stage2", "forks[0].Callback");
        await RefusedAsync<ArgumentException>(() => stream.ForkAsync("nowhere", 0, [probes.Square(1)]), "has no stage 'nowhere'");
        await AssertNothingForkedAsync(id);

        // Through the client: the stage's batch is refused when sent, so the run fails naming the fork.
        var viaClient = NewId("callbacks");
        await RefusedAsync<ArgumentException>(() => ClientForking(viaClient, s => s.ForkAsync(ForkProbes.Square, 2, callback: "start")).RunAsync(Ct), "forks[1].Callback 'start' is not after stage 'start'");
        await AssertNothingForkedAsync(viaClient);
    }

    [Fact]
    public async Task Forks_with_a_delay_or_priority_out_of_range_are_refused_naming_the_field_and_its_range_and_nothing_is_queued()
    {
        var probes = await fixture.Probes;
        var (id, stream) = await NewStreamAsync("overrides", new WorkStreamProperties());
        (ForkRequest Fork, string[] Naming)[] cases =
        [
            (probes.Square(1, delay: TimeSpan.FromMilliseconds(-1)), ["forks[1].Delay is -00:00:00.0010000", "between 00:00:00 and 1.00:00:00"]),
            (probes.Square(1, delay: WorkStreamRules.MaxJobDelay + TimeSpan.FromSeconds(1)), ["forks[1].Delay is 1.00:00:01", "between 00:00:00 and 1.00:00:00"]),
            (probes.Square(1, delay: TimeSpan.MaxValue), ["forks[1].Delay is 10675199.02:48:05.4775807"]),
            (probes.Square(1, priority: QueueLimits.MaxPriority + 1), ["forks[1].Priority is 1000001", "between -1000000 and 1000000"]),
            (probes.Square(1, priority: int.MinValue), ["forks[1].Priority is -2147483648", "between -1000000 and 1000000"]),
        ];
        foreach (var (fork, naming) in cases)
            await RefusedAsync<ArgumentException>(() => stream.ForkAsync("start", 0, [probes.Square(0), fork]), naming);
        await AssertNothingForkedAsync(id);
    }

    [Fact]
    public async Task Fork_ordinals_with_a_gap_are_refused_and_a_batch_sent_again_is_skipped()
    {
        var probes = await fixture.Probes;
        var (id, stream) = await NewStreamAsync("ordinals", new WorkStreamProperties());
        await RefusedAsync<ArgumentOutOfRangeException>(() => stream.ForkAsync("start", 1, [probes.Square(1)]), "firstOrdinal must be between 0 and 0", "without gaps");
        await RefusedAsync<ArgumentOutOfRangeException>(() => stream.ForkAsync("start", -1, [probes.Square(1)]), "firstOrdinal must be between 0 and 0");
        await AssertNothingForkedAsync(id);

        Assert.Equal(new ForkReceipt(2, 0, 2), await stream.ForkAsync("start", 0, [probes.Square(1), probes.Square(2)]));
        Assert.Equal(new ForkReceipt(1, 1, 3), await stream.ForkAsync("start", 1, [probes.Square(2), probes.Square(3)])); // a stage run again re-makes ordinal 1
        await RefusedAsync<ArgumentOutOfRangeException>(() => stream.ForkAsync("start", 4, [probes.Square(5)]), "firstOrdinal must be between 0 and 3");
        var records = await stream.RecordsAsync("stage1", 3);
        Assert.Equal(new[] { 1, 4, 9 }, records.Select(r => r.ResultAs<int>()).Order());
        Assert.Equal(3, (await stream.GetProgressAsync()).Stages[1].Expected);
        await stream.CloseAsync();
        await RefusedAsync<InvalidOperationException>(() => stream.ForkAsync("start", 3, [probes.Square(4)]), $"Stream '{id}' is closed");
    }

    [Fact]
    public async Task Reopening_a_stream_with_other_stages_is_refused_and_it_keeps_its_stages_and_properties()
    {
        var properties = new WorkStreamProperties { MaxWorkersPerNode = 2, JobPriority = 7 };
        var (id, stream) = await NewStreamAsync("reopen", properties);
        var opened = (await stream.GetInfoAsync())!;

        await RefusedAsync<ArgumentException>(() => stream.OpenAsync(new WorkStreamDefinition(["start", "other"], properties)),
            $"Stream '{id}' exists with stages [start, stage1], not [start, other]");
        await RefusedAsync<ArgumentException>(() => stream.OpenAsync(new WorkStreamDefinition(["start", "stage1", "stage2"], properties)), "not [start, stage1, stage2]");
        await RefusedAsync<ArgumentException>(() => stream.OpenAsync(new WorkStreamDefinition(["start", "Bad Stage"], properties)), "Stage name 'Bad Stage' is invalid");
        Assert.Equal(Described(opened), Described((await stream.GetInfoAsync())!));

        // The same stages reattach; the stream's properties stay as they are (change them with UpdatePropertiesAsync).
        var again = await stream.OpenAsync(new WorkStreamDefinition(["start", "stage1"], new WorkStreamProperties { MaxWorkersPerNode = 9 }));
        Assert.Equal(Described(opened), Described(again));
    }

    [Fact]
    public async Task A_stream_id_like_Bad_Id_is_refused_by_the_client_and_the_grain_and_nothing_is_stored()
    {
        var refused = Assert.Throws<ArgumentException>(() => new WorkStreamClient(Grains, WorkStreamCluster.ClusterKey, new WorkStreamClientOptions { Id = "Bad Id!" }));
        Assert.Contains("Stream id 'Bad Id!' is invalid: use 1 to 64 characters from A-Z, a-z, 0-9, '-' and '_'", refused.Message);
        Assert.Equal("Id", refused.ParamName);

        var stream = Grains.GetGrain<IWorkStreamGrain>("Bad Id!");
        await RefusedAsync<ArgumentException>(() => stream.OpenAsync(new WorkStreamDefinition(["start", "stage1"], new WorkStreamProperties())), "Stream id 'Bad Id!' is invalid");
        Assert.Null(await stream.GetInfoAsync());
        await RefusedAsync<InvalidOperationException>(() => stream.ForkAsync("start", 0, []), "Stream 'Bad Id!' was never opened");
    }

    [Fact]
    public async Task A_payload_that_is_no_fork_sent_by_hand_to_a_streams_queue_is_dead_lettered_with_the_reason_and_the_forks_complete()
    {
        var probes = await fixture.Probes;
        var (id, stream) = await NewStreamAsync("by-hand", new WorkStreamProperties { MaxWorkersPerNode = 1 });
        var queue = Grains.GetGrain<IQueueGrain>(WorkStreamRules.Queue(id));
        var strangers = new[] { await queue.SendAsync("not a fork"), await queue.SendAsync("{}"), await queue.SendAsync("""{"id": 5}""") };

        await stream.ForkAsync("start", 0, [.. Enumerable.Range(0, 10).Select(i => probes.Square(i))]);
        var records = await stream.RecordsAsync("stage1", 10);
        Assert.Equal(Enumerable.Range(0, 10).Select(i => i * i), records.Select(r => r.ResultAs<int>()).Order());

        await Eventually.TrueAsync(async () => (await queue.GetDeadLettersAsync()).Count == strangers.Length, "the payloads that are no forks to be dead-lettered");
        var dead = await queue.GetDeadLettersAsync();
        Assert.Equal(strangers.Order(), dead.Select(d => d.JobId).Order());
        Assert.All(dead, d => Assert.Contains("The job is not a work-stream fork", d.LastError));
        var progress = await stream.GetProgressAsync();
        Assert.Equal((10L, 10L), (progress.Stages[1].Expected, progress.Stages[1].Received)); // no record for what is no fork

        // The stream's one worker survived them: a fork made afterwards completes too.
        await stream.ForkAsync("start", 10, [probes.Square(10)]);
        Assert.Equal(100, (await stream.RecordsAsync("stage1", 11))[^1].ResultAs<int>());
        await stream.CloseAsync();
    }

    [Fact]
    public async Task UpdateProperties_changes_only_what_it_names_and_a_refused_change_leaves_every_property_as_it_was()
    {
        var opened = new WorkStreamProperties { SpawnFrequency = 2, MaxWorkersPerNode = 4, JobDelay = TimeSpan.FromSeconds(3), JobPriority = 5, IdleTimeout = TimeSpan.FromMinutes(6), MaxAttempts = 7 };
        var (_, stream) = await NewStreamAsync("properties", opened);
        var unopened = Grains.GetGrain<IWorkStreamGrain>(NewId("unopened"));
        await RefusedAsync<InvalidOperationException>(() => unopened.UpdatePropertiesAsync(new WorkStreamPropertyChanges { MaxWorkersPerNode = 2 }), "was never opened");

        var changed = await stream.UpdatePropertiesAsync(new WorkStreamPropertyChanges { MaxWorkersPerNode = 8, JobDelay = TimeSpan.Zero });
        var expected = opened with { MaxWorkersPerNode = 8, JobDelay = TimeSpan.Zero };
        Assert.Equal(expected, changed);
        Assert.Equal(expected, (await stream.GetInfoAsync())!.Properties);
        Assert.Equal(expected, await stream.UpdatePropertiesAsync(new WorkStreamPropertyChanges())); // naming nothing changes nothing

        (WorkStreamPropertyChanges Change, string Naming)[] refused =
        [
            (new() { SpawnFrequency = double.NaN }, "SpawnFrequency is NaN: it must be between 0.01 and 1000 workers per second"),
            (new() { SpawnFrequency = double.PositiveInfinity }, $"SpawnFrequency is {double.PositiveInfinity}: it must be between 0.01 and 1000"),
            (new() { MaxWorkersPerNode = 0 }, "MaxWorkersPerNode is 0: it must be between 1 and 256 workers"),
            (new() { IdleTimeout = TimeSpan.Zero, MaxWorkersPerNode = 2 }, "IdleTimeout is 00:00:00: it must be between 00:00:01 and 7.00:00:00"),
            (new() { MaxAttempts = -1, JobPriority = 1 }, "MaxAttempts is -1: it must be between 1 and 100 runs"),
            (new() { JobDelay = TimeSpan.FromDays(2) }, "JobDelay is 2.00:00:00: it must be between 00:00:00 and 1.00:00:00"),
            (new() { Isolation = (WorkerIsolation)9 }, "Isolation is 9: it must be InSilo or Process"),
        ];
        foreach (var (change, naming) in refused)
        {
            await RefusedAsync<ArgumentException>(() => stream.UpdatePropertiesAsync(change), naming);
            Assert.Equal(expected, (await stream.GetInfoAsync())!.Properties); // nothing changed, not even the valid part of the change
        }
    }

    [Fact]
    public async Task A_client_has_one_startup_stage_first_then_uniquely_named_process_stages()
    {
        static Task None(StageContext stage) => Task.CompletedTask;
        static Task Nothing(StageContext stage, IReadOnlyList<ForkRecord> ready, IReadOnlyList<ForkRecord> errors) => Task.CompletedTask;
        WorkStreamClient New() => new(Grains, WorkStreamCluster.ClusterKey);

        Assert.Contains("Add the startup stage before process stages", Assert.Throws<InvalidOperationException>(() => New().Process("stage1", Nothing)).Message);
        Assert.Contains("The startup stage comes first and once", Assert.Throws<InvalidOperationException>(() => New().Startup("start", None).Startup("again", None)).Message);
        Assert.Contains("Stage 'start' was added already", Assert.Throws<ArgumentException>(() => New().Startup("start", None).Process("start", Nothing)).Message);
        Assert.Contains("Stage name 'stage 1' is invalid", Assert.Throws<ArgumentException>(() => New().Startup("start", None).Process("stage 1", Nothing)).Message);
        var alone = New().Startup("start", None);
        Assert.Contains("needs a startup stage and at least one process stage", (await Assert.ThrowsAsync<InvalidOperationException>(() => alone.RunAsync(Ct))).Message);
        Assert.Equal(36, New().Id.Length); // a new GUID unless an Id is given
    }

    /// <summary>A stream's info as a value (its record compares its stage list by reference).</summary>
    private static string Described(WorkStreamInfo info) =>
        $"{info.Id} [{string.Join(", ", info.Stages)}] {info.Properties} opened {info.OpenedAt:O} created {info.Created} closed {info.Closed}";

    private static int PrivateSquare(int i) => i * i;

    private static class HiddenFunctions
    {
        public static int Square(int i) => i * i;
    }
}

/// <summary>A public type with an instance method, which cannot be forked: no silo has the instance.</summary>
public sealed class Multiplier(int factor)
{
    public int Times(int i) => i * factor;
}
