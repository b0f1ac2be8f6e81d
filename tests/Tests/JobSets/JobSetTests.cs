using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Orleans.Jobs.Client.JobSets;
using Orleans.Jobs.Grains.Interfaces.JobSets;

namespace Orleans.Jobs.Tests.JobSets;

/// <summary>Two silos of one in-memory cluster, shared by the jobset tests (each test has its own jobset id).</summary>
public sealed class JobSetCluster : IAsyncLifetime
{
    public JobsCluster Cluster { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        Cluster = new JobsClusterBuilder(2, StoreKind.InMemory).Build();
        await Cluster.DeployAsync();
    }

    public ValueTask DisposeAsync() => Cluster.DisposeAsync();
}

/// <summary>workerbee's jobsets through Orleans: several workers with no master, random claims, retries last, resumable.</summary>
public sealed class JobSetTests(JobSetCluster fixture) : IClassFixture<JobSetCluster>
{
    private readonly string _id = $"set_{Guid.NewGuid():N}"[..20];
    private IClusterClient Client => fixture.Cluster.Client;
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static JobSetOptions Quick(string worker, TextWriter? log = null) => new()
    {
        WorkerName = worker,
        IdleWait = TimeSpan.FromMilliseconds(200),
        Verbose = log is not null,
        Log = log,
    };

    [Fact]
    public async Task Workers_with_no_master_run_every_job_once_and_retry_failures_only_after_the_unclaimed_work()
    {
        const int Jobs = 300;
        const int Workers = 3;
        var ids = Enumerable.Range(0, Jobs).Select(i => $"/vol/atlas/image-{i}.png").ToList();
        var succeeded = new ConcurrentDictionary<string, int>();
        var failedOnce = new ConcurrentDictionary<string, bool>();
        var firstRuns = new ConcurrentDictionary<string, bool>();
        var retriesTooEarly = new ConcurrentBag<string>();
        var data = new Dictionary<string, JsonObject> { [ids[5]] = new() { ["some"] = 2, ["data"] = "here" } };
        JsonObject? seenData = null;

        async Task Job(string id, JsonObject jobData, CancellationToken ct)
        {
            if (firstRuns.TryAdd(id, true))
            {
                if (id == ids[5]) seenData = jobData;
                if (id.EndsWith("7.png")) { failedOnce[id] = true; throw new InvalidOperationException($"{id} fails once"); }
            }
            else if (firstRuns.Count < Jobs - (Workers - 1))
            {
                // A retry while fresh jobs were still unclaimed (allowing for workers that claimed but have not yet started).
                retriesTooEarly.Add(id);
            }

            await Task.Yield();
            succeeded.AddOrUpdate(id, 1, (_, n) => n + 1);
        }

        var summaries = await Task.WhenAll(Enumerable.Range(0, Workers).Select(w =>
            JobSet.RunAsync(Client, _id, Job, ids, data, Quick($"bee-{w}"), Ct)));

        Assert.Equal(Jobs, succeeded.Count);
        Assert.All(succeeded, s => Assert.Equal(1, s.Value));
        Assert.Equal(30, failedOnce.Count);
        Assert.Empty(retriesTooEarly);
        Assert.Equal(2, seenData!["some"]!.GetValue<int>());
        Assert.Single(summaries, s => s.CreatedHere);
        Assert.All(summaries, s => Assert.Equal((Jobs, Jobs, 0L), (s.Total, s.Completed, s.Failed)));
        Assert.Equal(Jobs + 30, summaries.Sum(s => s.RunHere));
        Assert.True(summaries.Count(s => s.RunHere > 0) >= 2, "more than one worker ran jobs");

        // Running the same script again resumes the set: it is done, so every worker returns at once.
        var again = await JobSet.RunAsync(Client, _id, Job, ids, data, Quick("bee-late"), Ct);
        Assert.Equal((Jobs, 0L, false), (again.Completed, again.RunHere, again.CreatedHere));
        Assert.Equal(Jobs, succeeded.Count);
    }

    [Fact]
    public async Task A_job_that_keeps_failing_is_recorded_as_failed_with_its_error_and_never_retried_forever()
    {
        var runs = new ConcurrentDictionary<string, int>();
        var summary = await JobSet.RunAsync(Client, _id, (id, _) =>
        {
            runs.AddOrUpdate(id, 1, (_, n) => n + 1);
            if (id == "bad") throw new FormatException("cannot parse bad");
        }, ["good-1", "bad", "good-2"], options: new JobSetOptions { MaxAttempts = 2, WorkerName = "solo", IdleWait = TimeSpan.FromMilliseconds(200) }, cancellationToken: Ct);

        Assert.Equal((3L, 2L, 1L), (summary.Total, summary.Completed, summary.Failed));
        var failure = Assert.Single(summary.Failures);
        Assert.Equal(("bad", 2), (failure.JobId, failure.Attempts));
        Assert.Contains("FormatException: cannot parse bad", failure.Error);
        Assert.Equal(2, runs["bad"]);
        Assert.Equal(1, runs["good-1"]);
    }

    [Fact]
    public async Task Verbose_mode_prints_the_seeds_progress_lines()
    {
        var log = new StringWriter();
        await JobSet.RunAsync(Client, _id, (_, _) => { }, ["id1", "id2", "id3"],
            new Dictionary<string, JsonObject> { ["id1"] = new() { ["some"] = 2, ["data"] = "here" } }, Quick("bee", log), Ct);

        var lines = log.ToString().Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal([$"Creating jobset '{_id}'...", $"Adding 3 jobs to jobset '{_id}'...", "job_data provided for 1 jobs", $"jobset '{_id}' set up.", new string('-', 80)], lines[..5]);
        Assert.Equal(3, lines.Count(l => System.Text.RegularExpressions.Regex.IsMatch(l, @"^[0-2]: claimed 'id[1-3]'$")));
        Assert.Equal(3, lines.Count(l => l == "...done."));
        Assert.Equal("All jobs are exhausted, terminating.", lines[^1]);
    }

    [Fact]
    public async Task Bad_ids_and_a_different_job_list_under_an_existing_id_are_refused_naming_the_rule()
    {
        var bad = await Assert.ThrowsAsync<ArgumentException>(() => JobSet.RunAsync(Client, "Bad-Id", (_, _) => { }, ["a"], cancellationToken: Ct));
        Assert.Contains("Jobset id 'Bad-Id' is invalid: use 1 to 100 lowercase letters, digits and underscores", bad.Message);
        var grainSide = await Assert.ThrowsAsync<ArgumentException>(() => Client.GetGrain<IJobSetGrain>("Bad-Id").BeginAsync(new JobSetDefinition()));
        Assert.Contains("lowercase letters, digits and underscores", grainSide.Message);

        Assert.Contains("appears twice", (await Assert.ThrowsAsync<ArgumentException>(() => JobSet.RunAsync(Client, _id, (_, _) => { }, ["a", "a"], cancellationToken: Ct))).Message);
        Assert.Contains("1 to 4096 characters", (await Assert.ThrowsAsync<ArgumentException>(() => JobSet.RunAsync(Client, _id + "_x", (_, _) => { }, ["a", ""], cancellationToken: Ct))).Message);
        Assert.Contains("Concurrency", (await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => JobSet.RunAsync(Client, _id + "_y", (_, _) => { }, ["a"], options: new JobSetOptions { Concurrency = 0 }, cancellationToken: Ct))).Message);

        var ran = 0;
        await JobSet.RunAsync(Client, _id + "_z", (_, _) => Interlocked.Increment(ref ran), ["a", "b"], options: Quick("bee"), cancellationToken: Ct);
        var other = await Assert.ThrowsAsync<ArgumentException>(() => JobSet.RunAsync(Client, _id + "_z", (_, _) => Interlocked.Increment(ref ran), ["a", "c"], options: Quick("bee"), cancellationToken: Ct));
        Assert.Contains("was set up with other jobs", other.Message);
        Assert.Equal(2, ran);
        var progress = await Client.GetGrain<IJobSetGrain>(_id + "_z").GetProgressAsync();
        Assert.Equal((2L, 2L, 0L, true), (progress.Total, progress.Completed, progress.Unclaimed, progress.IsDone));
    }
}
