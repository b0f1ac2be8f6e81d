using Orleans.Jobs.Grains.Interfaces;
using Orleans.Jobs.Grains.Queues;
using Orleans.Jobs.Runtime.Jobs;
using Orleans.Jobs.Runtime.Storage.InMemory;
using Orleans.Jobs.Silo.Testing;

namespace Orleans.Jobs.Tests.Grains;

/// <summary>The queue grain on two silos sharing a store, with time moved by hand.</summary>
public sealed class QueueGrainTests : IAsyncLifetime
{
    private readonly InMemoryClusterStore _store = new();
    private readonly ManualTimeProvider _clock = new();
    private SiloServices _siloA = null!;
    private SiloServices _siloB = null!;

    public ValueTask InitializeAsync()
    {
        _siloA = new SiloServices(_store, _clock, "a");
        _siloB = new SiloServices(_store, _clock, "b");
        return ValueTask.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        await _siloA.DisposeAsync();
        await _siloB.DisposeAsync();
    }

    private IQueueGrain Queue(string name = "q", SiloServices? silo = null) => (silo ?? _siloA).Grains.GetGrain<IQueueGrain>(name);

    private static ClaimOptions Claim(int max = 1, bool monitored = true, string owner = "worker-1") =>
        new() { MaxJobs = max, Monitored = monitored, Owner = owner };

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public static TheoryData<string, Func<IQueueGrain, Task>> BadInputs() => new()
    {
        { "Queue name", q => q.SendAsync("x") }, // on a queue named "bad name", see the test
        { "payload", q => q.SendAsync(null!) },
        { "1048578 bytes of UTF-8", q => q.SendAsync(new string('é', QueueLimits.MaxPayloadBytes / 2 + 1)) },
        { "a NUL character at position 3", q => q.SendAsync("abc\0def") },
        { "an unpaired UTF-16 surrogate at position 1", q => q.ExpediteAsync("a\uD800b") },
        { "jobs[1]", q => q.SendBatchAsync([new JobMessage("fine"), new JobMessage("nul\0")]) },
        { "Priority", q => q.SendAsync("x", new SendOptions { Priority = QueueLimits.MaxPriority + 1 }) },
        { "Delay", q => q.SendAsync("x", new SendOptions { Delay = TimeSpan.FromSeconds(-1) }) },
        { "MaxAttempts", q => q.ExpediteAsync("x", new SendOptions { MaxAttempts = 0 }) },
        { "1 to 10000 jobs", q => q.SendBatchAsync([]) },
        { "jobs[2]", q => q.SendBatchAsync([new JobMessage("ok"), new JobMessage("ok"), new JobMessage("late", new SendOptions { Delay = TimeSpan.FromDays(400) })]) },
        { "MaxJobs", q => q.ClaimAsync(new ClaimOptions { MaxJobs = 0 }) },
        { "Owner", q => q.ClaimAsync(new ClaimOptions { Owner = " " }) },
        { "lease", q => q.ClaimAsync(new ClaimOptions { LeaseDuration = TimeSpan.FromMilliseconds(1) }) },
        { "timeout", q => q.WaitAsync(TimeSpan.FromHours(1), new ClaimOptions()) },
        { "Job ids are positive", q => q.FinishAsync(0, Guid.NewGuid()) },
        { "lease token", q => q.RenewLeaseAsync(1, Guid.Empty) },
        { "MaxAttempts", q => q.ConfigureAsync(new QueueSettings { MaxAttempts = 0 }) },
        { "LeaseDuration", q => q.ConfigureAsync(new QueueSettings { LeaseDuration = TimeSpan.Zero }) },
        { "MaxRetryDelay", q => q.ConfigureAsync(new QueueSettings { RetryDelay = TimeSpan.FromMinutes(10), MaxRetryDelay = TimeSpan.FromMinutes(1) }) },
    };

    [Theory]
    [MemberData(nameof(BadInputs))]
    public async Task Bad_input_gets_an_error_naming_the_problem_and_stores_nothing(string named, Func<IQueueGrain, Task> call)
    {
        await Queue().SendAsync("existing work");
        var queue = named == "Queue name" ? Queue("bad name") : Queue();
        var error = await Assert.ThrowsAnyAsync<ArgumentException>(() => call(queue));
        Assert.Contains(named, error.Message);

        Assert.Equal(new QueueCounts(1, 0, 0, 0, 0), await Queue().GetCountsAsync());
        Assert.Equal(new QueueSettings(), await Queue().GetSettingsAsync());
        Assert.Equal("existing work", Assert.Single(await Queue().ClaimAsync(Claim())).Payload);
    }

    [Fact]
    public async Task A_result_that_cannot_be_stored_is_refused_and_an_error_text_is_cleaned()
    {
        await Queue().SendBatchAsync([new JobMessage("one"), new JobMessage("two")]);
        var jobs = await Queue().ClaimAsync(Claim(max: 2));
        var refused = await Assert.ThrowsAsync<ArgumentException>(() => Queue().FinishAsync(jobs[0].JobId, jobs[0].LeaseToken, "nul\0"));
        Assert.Contains("result", refused.Message);
        Assert.Equal(JobState.Running, (await Queue().GetJobAsync(jobs[0].JobId))!.State);

        await Queue().ConfigureAsync(new QueueSettings { MaxAttempts = 1 });
        await Queue().FailAsync(jobs[1].JobId, jobs[1].LeaseToken, "boom\0\uD800!");
        Assert.Equal("boom\uFFFD\uFFFD!", (await Queue().GetJobAsync(jobs[1].JobId))!.LastError);

        // A long error is cut at 8 KiB; a cut through an emoji's surrogate pair must not leave half of it behind.
        await Queue().SendAsync("three");
        var third = Assert.Single(await Queue().ClaimAsync(Claim()));
        await Queue().FailAsync(third.JobId, third.LeaseToken, new string('x', 8 * 1024 - 1) + "\U0001F600 and more");
        var stored = (await Queue().GetJobAsync(third.JobId))!.LastError!;
        Assert.StartsWith(new string('x', 8 * 1024 - 1) + "\uFFFD …(truncated)", stored);
    }

    [Fact]
    public async Task A_wait_cancelled_as_it_claims_gives_the_jobs_back_uncounted()
    {
        var id = await Queue().SendAsync("not lost");
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Queue().WaitAsync(TimeSpan.FromSeconds(5), Claim(), new CancellationToken(canceled: true)));
        var job = await Queue().GetJobAsync(id);
        Assert.Equal((JobState.Available, 0), (job!.State, job.Attempt));
    }

    [Fact]
    public async Task Settings_persist_and_every_silo_sees_them()
    {
        var settings = new QueueSettings { MaxAttempts = 7, LeaseDuration = TimeSpan.FromSeconds(9), MonitorPeriod = TimeSpan.FromSeconds(2) };
        await Queue().ConfigureAsync(settings);
        Assert.Equal(settings, await Queue(silo: _siloB).GetSettingsAsync());

        await Queue(silo: _siloB).SendAsync("x");
        var job = Assert.Single(await Queue(silo: _siloB).ClaimAsync(Claim()));
        Assert.Equal((7, TimeSpan.FromSeconds(9)), (job.MaxAttempts, job.LeaseDuration!.Value));
    }

    [Fact]
    public async Task The_lease_monitor_reminder_returns_jobs_of_dead_workers_until_they_are_dead_lettered()
    {
        await Queue().ConfigureAsync(new QueueSettings { MaxAttempts = 2, LeaseDuration = TimeSpan.FromSeconds(10), MonitorPeriod = TimeSpan.FromSeconds(5) });
        var id = await Queue().SendAsync("work");

        var first = Assert.Single(await Queue().ClaimAsync(Claim()));
        Assert.NotNull(await _store.GetReminderAsync(new("queue", "q"), QueueGrain.LeaseMonitorReminder, Ct));
        await AdvanceAndTickAsync(TimeSpan.FromSeconds(10)); // the worker never heartbeats

        var second = Assert.Single(await Queue(silo: _siloB).ClaimAsync(Claim(owner: "worker-2")));
        Assert.Equal((id, 2), (second.JobId, second.Attempt));
        Assert.Equal(JobUpdateOutcome.LeaseLost, await Queue().RenewLeaseAsync(id, first.LeaseToken));
        Assert.Equal(JobUpdateOutcome.LeaseLost, await Queue().FinishAsync(id, first.LeaseToken, "stale"));

        await AdvanceAndTickAsync(TimeSpan.FromSeconds(10));
        var dead = Assert.Single(await Queue().GetDeadLettersAsync());
        Assert.Equal((id, JobState.DeadLettered), (dead.JobId, dead.State));
        Assert.Contains("Attempt 2 of 2 was lost", dead.LastError);
    }

    [Fact]
    public async Task A_renewed_lease_keeps_the_job_with_its_worker()
    {
        await Queue().ConfigureAsync(new QueueSettings { LeaseDuration = TimeSpan.FromSeconds(10), MonitorPeriod = TimeSpan.FromSeconds(5) });
        await Queue().SendAsync("work");
        var job = Assert.Single(await Queue().ClaimAsync(Claim()));
        for (var i = 0; i < 6; i++)
        {
            await AdvanceAndTickAsync(TimeSpan.FromSeconds(5));
            Assert.Equal(JobUpdateOutcome.Updated, await Queue().RenewLeaseAsync(job.JobId, job.LeaseToken, job.LeaseDuration));
        }

        Assert.Equal(JobUpdateOutcome.Updated, await Queue().FinishAsync(job.JobId, job.LeaseToken, "done"));
        Assert.Equal("done", (await Queue().GetJobAsync(job.JobId))!.Result);
    }

    [Fact]
    public async Task Wait_blocks_until_a_send_on_another_silo_wakes_it()
    {
        var waiting = Queue().WaitAsync(TimeSpan.FromMinutes(5), Claim(), Ct);
        Assert.False(waiting.IsCompleted);
        var id = await Queue(silo: _siloB).SendAsync("hello");
        var jobs = await Eventually.WithinAsync(waiting, "the wait to wake on a send");
        Assert.Equal(id, Assert.Single(jobs).JobId);
    }

    [Fact]
    public async Task Wait_returns_nothing_when_its_timeout_passes()
    {
        var waiting = Queue().WaitAsync(TimeSpan.FromSeconds(30), Claim(), Ct);
        await Eventually.TrueAsync(() => _clock.PendingTimers > 0, "the wait to start its timer");
        _clock.Advance(TimeSpan.FromSeconds(30));
        Assert.Empty(await Eventually.WithinAsync(waiting, "the wait to time out"));
    }

    [Fact]
    public async Task Wait_wakes_when_a_delayed_job_becomes_visible()
    {
        await Queue().SendAsync("later", new SendOptions { Delay = TimeSpan.FromSeconds(20) });
        var waiting = Queue().WaitAsync(TimeSpan.FromMinutes(1), Claim(), Ct);
        await Eventually.TrueAsync(() => _clock.PendingTimers > 0, "the wait to start its timer");
        Assert.False(waiting.IsCompleted);
        _clock.Advance(TimeSpan.FromSeconds(20));
        Assert.Equal("later", Assert.Single(await Eventually.WithinAsync(waiting, "the delayed job")).Payload);
    }

    [Fact]
    public async Task A_batch_claim_takes_several_jobs_at_once()
    {
        var ids = await Queue().SendBatchAsync(Enumerable.Range(0, 10).Select(i => new JobMessage($"j{i}")).ToList());
        var claimed = await Queue().ClaimAsync(Claim(max: 4));
        Assert.Equal(ids.Take(4), claimed.Select(j => j.JobId));
        Assert.Equal(6, (await Queue().GetCountsAsync()).Available);
    }

    private async Task AdvanceAndTickAsync(TimeSpan by)
    {
        _clock.Advance(by);
        await _siloA.Reminders.TickOnceAsync(Ct);
        await _siloB.Reminders.TickOnceAsync(Ct);
    }
}
