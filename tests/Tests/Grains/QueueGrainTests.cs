using Orleans.Jobs.Client.Queues;
using Orleans.Jobs.Grains.Interfaces;
using Orleans.Jobs.Grains.Queues;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Runtime;

namespace Orleans.Jobs.Tests.Grains;

/// <summary>Two silos of one in-memory cluster, shared by the tests of <see cref="QueueGrainTests"/> (each test has its own queue).</summary>
public sealed class TwoSiloCluster : IAsyncLifetime
{
    public JobsCluster Cluster { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        Cluster = new JobsClusterBuilder(2, StoreKind.InMemory).Build();
        await Cluster.DeployAsync();
    }

    public ValueTask DisposeAsync() => Cluster.DisposeAsync();
}

/// <summary>The queue grain and its control grain on two silos, through Orleans, on real time with short periods.</summary>
public sealed class QueueGrainTests(TwoSiloCluster fixture) : IClassFixture<TwoSiloCluster>
{
    private readonly JobsCluster _cluster = fixture.Cluster;
    private readonly string _queue = $"q-{Guid.NewGuid():N}";

    /// <summary>The test's queue, called through the client.</summary>
    private IQueueGrain Queue() => _cluster.Client.GetGrain<IQueueGrain>(_queue);

    /// <summary>The test's queue, called from inside silo <paramref name="silo"/> (its stateless worker runs there).</summary>
    private IQueueGrain QueueOn(int silo) => JobsCluster.GrainsOn(_cluster.Silos[silo]).GetGrain<IQueueGrain>(_queue);

    private static ClaimOptions Claim(int max = 1, bool monitored = true, string owner = "worker-1") =>
        new() { MaxJobs = max, Monitored = monitored, Owner = owner };

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public static TheoryData<string, Func<IQueueGrain, Task>> BadInputs() => new()
    {
        { "Queue name", q => q.SendAsync("x") }, // on a queue named "bad name", see the test
        { "payload", q => q.SendAsync(null!) },
        { "1048578 bytes of UTF-8", q => q.SendAsync(new string('é', QueueLimits.MaxPayloadBytes / 2 + 1)) },
        { "a NUL character at position 3", q => q.SendAsync("abc\0def") },
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
        { "limit must be between 1 and 1000", q => q.ListJobsAsync(JobListState.Running, 0, 0) },
        { "afterId must be 0", q => q.ListJobsAsync(JobListState.Available, -1) },
        { "state must be one of Available, Scheduled, Running, Completed, DeadLettered", q => q.ListJobsAsync((JobListState)9) },
        { "owner must be 1 to 128 characters", q => q.ExpireUnmonitoredJobsAsync(" ") },
        { "ClaimId is required when Resume is true", q => q.ClaimAsync(new ClaimOptions { Resume = true }) },
        { "ClaimId must not be the empty GUID", q => q.WaitAsync(TimeSpan.Zero, new ClaimOptions { ClaimId = Guid.Empty }) },
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
        var settings = await Queue().GetSettingsAsync();
        var queue = named == "Queue name" ? _cluster.Client.GetGrain<IQueueGrain>("bad name") : Queue();
        var error = await Assert.ThrowsAnyAsync<ArgumentException>(() => call(queue));
        Assert.Contains(named, error.Message);

        Assert.Equal(new QueueCounts(1, 0, 0, 0, 0), await Queue().GetCountsAsync());
        Assert.Equal(settings, await Queue().GetSettingsAsync());
        Assert.Equal("existing work", Assert.Single(await Queue().ClaimAsync(Claim())).Payload);
    }

    [Fact]
    public async Task An_unpaired_surrogate_is_refused_in_a_silo_and_arrives_replaced_over_the_wire()
    {
        // Inside a silo the string reaches the data plane as it is, and is refused with the rule it breaks.
        var error = await Assert.ThrowsAsync<ArgumentException>(() => QueueOn(0).ExpediteAsync("a\uD800b"));
        Assert.Contains("an unpaired UTF-16 surrogate at position 1", error.Message);
        // Orleans carries strings as UTF-8, so from a client the lone surrogate arrives as U+FFFD: stored text stays valid.
        var id = await Queue().ExpediteAsync("a\uD800b");
        Assert.Equal("a\uFFFDb", (await Queue().GetJobAsync(id))!.Payload);
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
    public async Task A_wait_repeated_with_Resume_gets_back_what_the_failed_claim_of_that_id_took()
    {
        var claimId = Guid.NewGuid();
        var id = await Queue().SendAsync("taken by a claim whose answer was lost");
        var lost = Assert.Single(await Queue().ClaimAsync(Claim() with { ClaimId = claimId }));

        var resumed = Assert.Single(await QueueOn(1).WaitAsync(TimeSpan.FromSeconds(5), Claim() with { ClaimId = claimId, Resume = true }, Ct));
        Assert.Equal((id, lost.LeaseToken, 1), (resumed.JobId, resumed.LeaseToken, resumed.Attempt));
        Assert.Equal(JobUpdateOutcome.Updated, await Queue().FinishAsync(resumed.JobId, resumed.LeaseToken));
    }

    [Fact]
    public async Task Jobs_are_listed_by_state_in_pages_and_a_gone_unmonitored_workers_jobs_expire()
    {
        var ids = await Queue().SendBatchAsync([new JobMessage("a"), new JobMessage("b"), new JobMessage("c")]);
        await Queue().ClaimAsync(Claim(max: 2, monitored: false, owner: "gone-worker"));

        var firstPage = await QueueOn(1).ListJobsAsync(JobListState.Running, 0, 1);
        var secondPage = await Queue().ListJobsAsync(JobListState.Running, firstPage[^1].JobId, 1);
        Assert.Equal([ids[0], ids[1]], firstPage.Concat(secondPage).Select(j => j.JobId));
        Assert.All(firstPage.Concat(secondPage), j => Assert.Equal(("gone-worker", (DateTimeOffset?)null), (j.Owner, j.LeaseExpiresAt)));
        Assert.Empty(await Queue().ListJobsAsync(JobListState.Running, secondPage[^1].JobId, 1));

        Assert.Equal(2, await Queue().ExpireUnmonitoredJobsAsync("gone-worker"));
        Assert.Equal(ids, (await Queue().ListJobsAsync(JobListState.Available)).Select(j => j.JobId));
    }

    [Fact]
    public async Task A_marble_job_left_by_an_exception_is_failed_and_one_settled_or_abandoned_is_not()
    {
        var marble = new Marble(_cluster.Client);
        await Queue().ConfigureAsync(new QueueSettings { RetryDelay = TimeSpan.Zero, MaxRetryDelay = TimeSpan.Zero });
        var id = await Queue().SendAsync("work", new SendOptions { MaxAttempts = 3 });

        await Assert.ThrowsAsync<InvalidDataException>(async () =>
        {
            await using var job = (await marble.WaitBatchAsync(_queue, 1, TimeSpan.FromSeconds(10), Ct))[0];
            throw new InvalidDataException("the worker broke");
        });
        var failed = (await Queue().GetJobAsync(id))!;
        Assert.Equal((JobState.Available, 1, MarbleJob.AbandonedError), (failed.State, failed.Attempt, failed.LastError));

        // Abandoned on purpose (a hang), the job is left to its lease; disposing it after changes nothing.
        var abandoned = (await marble.WaitBatchAsync(_queue, 1, TimeSpan.FromSeconds(10), Ct))[0];
        await abandoned.AbandonAsync();
        await abandoned.DisposeAsync();
        Assert.Equal((JobState.Running, 2), ((await Queue().GetJobAsync(id))!.State, (await Queue().GetJobAsync(id))!.Attempt));
        Assert.Equal(JobUpdateOutcome.Updated, await Queue().ReleaseAsync(id, abandoned.Claim.LeaseToken));

        await using (var job = (await marble.WaitBatchAsync(_queue, 1, TimeSpan.FromSeconds(10), Ct))[0])
            await job.FinishAsync("done");
        var done = (await Queue().GetJobAsync(id))!;
        Assert.Equal((JobState.Completed, "done", 2), (done.State, done.Result, done.Attempt));
    }

    [Fact]
    public async Task Settings_persist_and_every_silo_sees_them()
    {
        var settings = new QueueSettings { MaxAttempts = 7, LeaseDuration = TimeSpan.FromSeconds(9), MonitorPeriod = TimeSpan.FromSeconds(2) };
        await Queue().ConfigureAsync(settings);
        Assert.Equal(settings, await QueueOn(1).GetSettingsAsync());

        await QueueOn(1).SendAsync("x");
        var job = Assert.Single(await QueueOn(1).ClaimAsync(Claim()));
        Assert.Equal((7, TimeSpan.FromSeconds(9)), (job.MaxAttempts, job.LeaseDuration!.Value));
    }

    [Fact]
    public async Task The_monitor_returns_jobs_of_dead_workers_until_they_are_dead_lettered()
    {
        await Queue().ConfigureAsync(new QueueSettings { MaxAttempts = 2, LeaseDuration = TimeSpan.FromMilliseconds(500), MonitorPeriod = TimeSpan.FromSeconds(1) });
        var id = await Queue().SendAsync("work");

        var first = Assert.Single(await QueueOn(0).ClaimAsync(Claim()));
        // The worker never heartbeats: the control grain's monitor timer returns the job for attempt 2.
        var second = await Eventually.WithinAsync(QueueOn(1).WaitAsync(TimeSpan.FromSeconds(20), Claim(owner: "worker-2"), Ct), "the monitor to return the job");
        Assert.Equal((id, 2), (Assert.Single(second).JobId, second[0].Attempt));
        Assert.Equal(JobUpdateOutcome.LeaseLost, await Queue().RenewLeaseAsync(id, first.LeaseToken));
        Assert.Equal(JobUpdateOutcome.LeaseLost, await Queue().FinishAsync(id, first.LeaseToken, "stale"));

        await Eventually.TrueAsync(async () => (await Queue().GetDeadLettersAsync()).Count == 1, "the second lost attempt to dead-letter the job");
        var dead = Assert.Single(await Queue().GetDeadLettersAsync());
        Assert.Equal((id, JobState.DeadLettered), (dead.JobId, dead.State));
        Assert.Contains("Attempt 2 of 2 was lost", dead.LastError);
    }

    [Fact]
    public async Task The_monitor_is_a_reminder_backed_timer_on_the_queues_control_grain()
    {
        await Queue().SendAsync("work");
        var registry = JobsCluster.Services(_cluster.Silos[0]).GetRequiredService<IReminderTable>();
        var control = _cluster.Client.GetGrain<IQueueControlGrain>(_queue);
        await Eventually.TrueAsync(async () => (await registry.ReadRow(control.GetGrainId(), QueueControlGrain.KeepAliveReminder, Ct)) is not null, "the keep-alive reminder to be registered");
        var row = await registry.ReadRow(control.GetGrainId(), QueueControlGrain.KeepAliveReminder, Ct);
        Assert.Equal(QueueOptions.DefaultKeepAlivePeriod, row!.Period);
    }

    [Fact]
    public async Task A_renewed_lease_keeps_the_job_with_its_worker()
    {
        await Queue().ConfigureAsync(new QueueSettings { LeaseDuration = TimeSpan.FromMilliseconds(600), MonitorPeriod = TimeSpan.FromSeconds(1) });
        await Queue().SendAsync("work");
        var job = Assert.Single(await Queue().ClaimAsync(Claim()));
        var until = DateTimeOffset.UtcNow + TimeSpan.FromSeconds(2); // three leases' worth, renewed every 200 ms
        while (DateTimeOffset.UtcNow < until)
        {
            Assert.Equal(JobUpdateOutcome.Updated, await Queue().RenewLeaseAsync(job.JobId, job.LeaseToken, job.LeaseDuration));
            await Task.Delay(200, Ct);
        }

        Assert.Equal(JobUpdateOutcome.Updated, await Queue().FinishAsync(job.JobId, job.LeaseToken, "done"));
        Assert.Equal("done", (await Queue().GetJobAsync(job.JobId))!.Result);
    }

    [Fact]
    public async Task Wait_blocks_until_a_send_on_another_silo_wakes_it()
    {
        var plane = JobsCluster.Services(_cluster.Silos[0]).GetRequiredService<QueueDataPlane>();
        var waiting = QueueOn(0).WaitAsync(TimeSpan.FromMinutes(5), Claim(), Ct);
        await Eventually.TrueAsync(() => plane.WaitsInFlight(_queue) == 1, "the wait to block on silo 0");
        Assert.False(waiting.IsCompleted);
        var id = await QueueOn(1).SendAsync("hello");
        var jobs = await Eventually.WithinAsync(waiting, "the wait to wake on a send");
        Assert.Equal(id, Assert.Single(jobs).JobId);
    }

    [Fact]
    public async Task Wait_returns_nothing_when_its_timeout_passes()
    {
        var started = DateTimeOffset.UtcNow;
        var jobs = await Eventually.WithinAsync(Queue().WaitAsync(TimeSpan.FromSeconds(1), Claim(), Ct), "the wait to time out");
        Assert.Empty(jobs);
        Assert.True(DateTimeOffset.UtcNow - started >= TimeSpan.FromSeconds(0.9), "the wait returned before its timeout");
    }

    [Fact]
    public async Task Wait_wakes_when_a_delayed_job_becomes_visible()
    {
        await Queue().SendAsync("later", new SendOptions { Delay = TimeSpan.FromSeconds(1) });
        var sentAt = DateTimeOffset.UtcNow;
        var jobs = await Eventually.WithinAsync(Queue().WaitAsync(TimeSpan.FromMinutes(1), Claim(), Ct), "the delayed job");
        Assert.Equal("later", Assert.Single(jobs).Payload);
        Assert.True(DateTimeOffset.UtcNow - sentAt >= TimeSpan.FromSeconds(0.9), "a delayed job was claimed before its time");
    }

    [Fact]
    public async Task A_batch_claim_takes_several_jobs_at_once()
    {
        var ids = await Queue().SendBatchAsync(Enumerable.Range(0, 10).Select(i => new JobMessage($"j{i}")).ToList());
        var claimed = await Queue().ClaimAsync(Claim(max: 4));
        Assert.Equal(ids.Take(4), claimed.Select(j => j.JobId));
        Assert.Equal(6, (await Queue().GetCountsAsync()).Available);
    }

}
