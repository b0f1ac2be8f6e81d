using Microsoft.Extensions.Time.Testing;
using Orleans.Jobs.Silo.Workers;

namespace Orleans.Jobs.Tests.Workers;

/// <summary>
/// The adaptive look-ahead: sized from observed job durations and leases, never past its bound, and shrinking for long
/// jobs. Time is a <see cref="FakeTimeProvider"/>: every duration here is set, none is measured.
/// </summary>
public sealed class WorkerCapacityTests
{
    private const int Runners = 4;
    private const int Bound = 100;
    private readonly FakeTimeProvider _time = new();

    [Fact]
    public void Before_any_job_finished_a_silo_claims_only_for_its_runners()
    {
        var capacity = Adaptive();
        Assert.Equal(0, capacity.LookAhead);
        Assert.Equal(Runners, capacity.Reserve(1000));

        // Jobs that have only just started say nothing yet of how long jobs take.
        for (var runner = 0; runner < Runners; runner++) capacity.Start(runner);
        _time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(0, capacity.LookAhead);
        Assert.Equal(0, capacity.Reserve(1000));
    }

    [Fact]
    public void Short_jobs_grow_the_look_ahead_to_its_bound_and_never_past_it()
    {
        var capacity = Adaptive();
        RunJobs(capacity, count: 10, each: TimeSpan.FromMilliseconds(1)); // 4 runners x 1 s / 1 ms = 4,000 wanted

        Assert.Equal(Bound, capacity.LookAhead);
        Assert.Equal(Runners + Bound, capacity.Reserve(100_000));
        Assert.Equal(0, capacity.Reserve(1)); // full: a racing claim keeps nothing
    }

    [Fact]
    public void The_look_ahead_holds_about_one_horizon_of_the_runners_work()
    {
        var capacity = Adaptive();
        RunJobs(capacity, count: 200, each: TimeSpan.FromMilliseconds(100));

        // 4 runners for 1 s at 100 ms a job: 40 jobs.
        Assert.InRange(capacity.LookAhead, 39, 40);
    }

    [Fact]
    public void Long_jobs_shrink_the_look_ahead_to_nothing()
    {
        var capacity = Adaptive();
        RunJobs(capacity, count: 10, each: TimeSpan.FromMilliseconds(1));
        Assert.Equal(Bound, capacity.LookAhead);

        RunJobs(capacity, count: 200, each: TimeSpan.FromSeconds(5));
        Assert.Equal(0, capacity.LookAhead);
    }

    [Fact]
    public void Jobs_running_long_shrink_the_look_ahead_before_they_finish()
    {
        var capacity = Adaptive();
        RunJobs(capacity, count: 10, each: TimeSpan.FromMilliseconds(1));
        Assert.Equal(Bound, capacity.LookAhead);

        // Every runner takes a job that turns out long: while they run, the mean so far is not trusted.
        Assert.Equal(Runners, capacity.Reserve(Runners));
        for (var runner = 0; runner < Runners; runner++) capacity.Start(runner);
        _time.Advance(TimeSpan.FromSeconds(2));

        Assert.Equal(2, capacity.LookAhead); // 4 runners x 1 s / 2 s so far
    }

    [Fact]
    public void A_short_lease_caps_the_look_ahead_at_a_quarter_of_its_work()
    {
        var capacity = Adaptive();
        capacity.ObserveLease(TimeSpan.FromMilliseconds(400)); // a quarter: 100 ms, shorter than the 1 s horizon
        RunJobs(capacity, count: 200, each: TimeSpan.FromMilliseconds(10));

        // 4 runners for 100 ms at 10 ms a job: 40 jobs.
        Assert.InRange(capacity.LookAhead, 39, 40);
    }

    [Fact]
    public void A_set_prefetch_overrides_what_the_silo_observes()
    {
        var capacity = new WorkerCapacity(Runners, prefetch: 7, Bound, _time);
        Assert.Equal(7, capacity.LookAhead);
        RunJobs(capacity, count: 10, each: TimeSpan.FromMilliseconds(1));
        Assert.Equal(7, capacity.LookAhead);
        Assert.Equal(Runners + 7, capacity.Reserve(1000));
    }

    [Fact]
    public async Task A_claim_waits_for_room_worth_a_quarter_of_the_look_ahead_while_jobs_wait()
    {
        var capacity = Adaptive();
        RunJobs(capacity, count: 10, each: TimeSpan.FromMilliseconds(1));
        Assert.Equal(Runners + Bound, capacity.Reserve(Runners + Bound));
        for (var runner = 0; runner < Runners; runner++) capacity.Start(runner);

        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var room = capacity.WaitForRoomAsync(deadline.Token);
        for (var finished = 0; finished < Bound / 4; finished++)
        {
            Assert.False(room.IsCompleted, $"a claim for {finished} free slots, under a quarter of the look-ahead");
            var runner = finished % Runners;
            capacity.Finish(runner);
            capacity.Start(runner);
        }

        Assert.Equal(Bound / 4, (await room).Free);
    }

    private WorkerCapacity Adaptive() => new(Runners, prefetch: null, Bound, _time);

    /// <summary>Runs <paramref name="count"/> jobs of <paramref name="each"/> one after another on runner 0.</summary>
    private void RunJobs(WorkerCapacity capacity, int count, TimeSpan each)
    {
        for (var i = 0; i < count; i++)
        {
            Assert.Equal(1, capacity.Reserve(1));
            capacity.Start(0);
            _time.Advance(each);
            capacity.Finish(0);
        }
    }
}
