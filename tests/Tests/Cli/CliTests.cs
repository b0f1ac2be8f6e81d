using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Jobs.Grains.Interfaces;
using Orleans.Jobs.Grains.Interfaces.Heartbeats;
using Orleans.Jobs.Silo.Hosting;

namespace Orleans.Jobs.Tests.Cli;

/// <summary>
/// The real <c>jobs</c> executable against a stock silo on free ports: what it shows, what it changes, and that bad
/// arguments (exit 2) and an unreachable cluster (exit 1) change nothing and say why.
/// </summary>
public sealed class CliTests
{
    internal const string WorkQueue = "cli-work";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>A stock silo whose workers handle <see cref="WorkQueue"/>, and the CLI arguments that reach it.</summary>
    internal sealed class Silo(WebApplication app, string[] connection) : IAsyncDisposable
    {
        public string[] Connection { get; } = connection;

        public IGrainFactory Grains => app.Services.GetRequiredService<IGrainFactory>();

        /// <summary>Starts it with <paramref name="more"/> silo arguments.</summary>
        public static async Task<Silo> StartAsync(params string[] more)
        {
            var (gatewayPort, id) = (StockSilo.FreePort(), $"cli-{Guid.NewGuid():N}");
            var app = await StockSilo.StartAsync([.. StockSilo.Arguments(more), $"--Cluster:GatewayPort={gatewayPort}", $"--Cluster:ClusterId={id}", $"--Cluster:ServiceId={id}"],
                silo => silo.AddJobHandler(WorkQueue, (job, _) => Task.FromResult<string?>(job.Payload)));
            return new Silo(app, ["--gateway", $"127.0.0.1:{gatewayPort}", "--cluster-id", id, "--service-id", id]);
        }

        public async ValueTask DisposeAsync() => await app.DisposeAsync();
    }

    [Fact]
    public async Task Net_lists_the_silo_and_its_worker_as_text_and_as_json()
    {
        await using var silo = await Silo.StartAsync();
        await Eventually.TrueAsync(async () => (await silo.Grains.GetGrain<IWorkerHeartbeatGrain>(0).ListAsync()).Count == 1, "the silo's workers to beat");

        var text = await JobsCli.RunOkAsync(["net", .. silo.Connection]);
        Assert.Contains("silos: 1", text.Out);
        Assert.Contains("status=Active", text.Out);
        Assert.Contains("workers: 1", text.Out);
        Assert.Contains("kind=silo", text.Out);

        var json = JsonDocument.Parse((await JobsCli.RunOkAsync(["net", "--json", .. silo.Connection])).Out).RootElement;
        Assert.Equal("Active", Assert.Single(json.GetProperty("silos").EnumerateArray()).GetProperty("status").GetString());
        var worker = Assert.Single(json.GetProperty("workers").EnumerateArray());
        Assert.Equal("silo", worker.GetProperty("kind").GetString());
        Assert.StartsWith("silo:", worker.GetProperty("id").GetString());
        Assert.Equal("Resting", worker.GetProperty("status").GetString());
    }

    [Fact]
    public async Task Status_shows_queue_counts_after_sends_and_the_jobs_verb_is_the_same()
    {
        await using var silo = await Silo.StartAsync();
        var queue = silo.Grains.GetGrain<IQueueGrain>("cli-idle");
        for (var i = 0; i < 3; i++) await queue.SendAsync($"job-{i}");
        await silo.Grains.GetGrain<IQueueGrain>(WorkQueue).SendAsync("run me");
        await Eventually.TrueAsync(async () => (await silo.Grains.GetGrain<IQueueGrain>(WorkQueue).GetCountsAsync()).Completed == 1, "the worker to run its job");

        var text = await JobsCli.RunOkAsync(["status", "--queue", "cli-idle", "--queue", WorkQueue, .. silo.Connection]);
        Assert.Contains("queue cli-idle: 0/3 done, available=3 scheduled=0 running=0 completed=0 dead-lettered=0", text.Out);
        Assert.Contains($"queue {WorkQueue}: 1/1 done, available=0 scheduled=0 running=0 completed=1 dead-lettered=0", text.Out);
        Assert.DoesNotContain("\u001b[", text.Out); // not a terminal: no escape codes, no bars

        var json = JsonDocument.Parse((await JobsCli.RunOkAsync(["jobs", "--queue", "cli-idle", "--json", .. silo.Connection])).Out).RootElement;
        var item = Assert.Single(json.EnumerateArray());
        Assert.Equal("queue", item.GetProperty("kind").GetString());
        Assert.Equal(3, item.GetProperty("details").GetProperty("available").GetInt64());
        Assert.False(item.GetProperty("finished").GetBoolean());

        var watched = await JobsCli.RunOkAsync(["status", "--watch", "--interval", "0.2", "--queue", WorkQueue, .. silo.Connection]);
        Assert.Contains($"queue {WorkQueue}: 1/1 done", watched.Out); // done already: --watch returns at once
    }

    [Fact]
    public async Task Jobs_with_a_state_lists_a_page_of_a_queues_jobs_and_names_the_next_cursor()
    {
        await using var silo = await Silo.StartAsync();
        var queue = silo.Grains.GetGrain<IQueueGrain>("cli-list");
        var ids = await queue.SendBatchAsync([new JobMessage("a"), new JobMessage("b"), new JobMessage("c")]);
        await queue.ClaimAsync(new ClaimOptions { MaxJobs = 2, Monitored = false, Owner = "gone-worker" });

        var text = await JobsCli.RunOkAsync(["jobs", "--queue", "cli-list", "--state", "running", "--limit", "1", .. silo.Connection]);
        Assert.Contains("queue cli-list: 1 running job", text.Out);
        Assert.Contains($"job {ids[0]} attempt=1/", text.Out);
        Assert.Contains("owner=gone-worker lease=unmonitored", text.Out);
        Assert.Contains($"more may follow: --after {ids[0]}", text.Out);

        var page = JsonDocument.Parse((await JobsCli.RunOkAsync(["jobs", "--queue", "cli-list", "--state", "running", "--after", ids[0].ToString(), "--json", .. silo.Connection])).Out).RootElement;
        var listed = Assert.Single(page.EnumerateArray());
        Assert.Equal(ids[1], Assert.Single(listed.GetProperty("jobs").EnumerateArray()).GetProperty("jobId").GetInt64());
        Assert.Equal(System.Text.Json.JsonValueKind.Null, listed.GetProperty("nextAfter").ValueKind);
        Assert.Contains($"job {ids[2]} ", (await JobsCli.RunOkAsync(["status", "--queue", "cli-list", "--state", "available", .. silo.Connection])).Out);

        foreach (var (arguments, expected) in new (string[], string)[]
        {
            (["jobs", "--queue", "cli-list", "--state", "lost"], "lost"),
            (["jobs", "--queue", "cli-list", "--limit", "5"], "--after and --limit page through a listing: give --state too."),
            (["jobs", "--jobset", "js", "--state", "running"], "--state lists the jobs of --queue queues: name at least one --queue, and no --jobset."),
            (["jobs", "--queue", "cli-list", "--state", "running", "--limit", "1001"], "--limit must be between 1 and 1000"),
        })
        {
            var refused = await JobsCli.RunAsync([.. arguments, .. silo.Connection]);
            Assert.Equal(2, refused.ExitCode);
            Assert.Contains(expected, refused.Error);
        }
    }

    [Fact]
    public async Task Dead_letters_lists_a_dead_job_and_requeue_makes_it_available_again()
    {
        await using var silo = await Silo.StartAsync();
        var queue = silo.Grains.GetGrain<IQueueGrain>("cli-dead");
        var id = await queue.SendAsync("doomed", new SendOptions { MaxAttempts = 1 });
        var claimed = Assert.Single(await queue.ClaimAsync(new ClaimOptions { Owner = "test" }));
        Assert.Equal(FailOutcome.DeadLettered, (await queue.FailAsync(id, claimed.LeaseToken, "boom")).Outcome);

        var list = await JobsCli.RunOkAsync(["dead-letters", "list", "cli-dead", .. silo.Connection]);
        Assert.Contains("dead letters: 1", list.Out);
        Assert.Contains($"job {id} attempts=1/1", list.Out);
        Assert.Contains("error=boom", list.Out);
        var json = JsonDocument.Parse((await JobsCli.RunOkAsync(["dead-letters", "list", "cli-dead", "--json", .. silo.Connection])).Out).RootElement;
        Assert.Equal(id, Assert.Single(json.EnumerateArray()).GetProperty("jobId").GetInt64());

        // bad arguments: exit 2, a message, nothing changed
        var badId = await JobsCli.RunAsync(["dead-letters", "requeue", "cli-dead", "abc", .. silo.Connection]);
        Assert.Equal(2, badId.ExitCode);
        Assert.Contains("abc", badId.Error);
        var badQueue = await JobsCli.RunAsync(["dead-letters", "requeue", "bad queue!", id.ToString(), .. silo.Connection]);
        Assert.Equal(2, badQueue.ExitCode);
        Assert.Contains("Queue name 'bad queue!' is invalid", badQueue.Error);
        Assert.Equal(JobState.DeadLettered, (await queue.GetJobAsync(id))!.State);

        var requeue = await JobsCli.RunOkAsync(["dead-letters", "requeue", "cli-dead", id.ToString(), .. silo.Connection]);
        Assert.Contains($"requeued job {id}", requeue.Out);
        var job = (await queue.GetJobAsync(id))!;
        Assert.Equal(JobState.Available, job.State);
        Assert.Equal("doomed", Assert.Single(await queue.ClaimAsync(new ClaimOptions { Owner = "test" })).Payload);

        // a job that is not dead-lettered: the operation fails (exit 1) and says why
        var again = await JobsCli.RunAsync(["dead-letters", "requeue", "cli-dead", id.ToString(), .. silo.Connection]);
        Assert.Equal(1, again.ExitCode);
        Assert.Contains("is Running, not dead-lettered", again.Error);
    }

    [Fact]
    public async Task Dead_letters_purge_deletes_only_what_was_named_and_nothing_without_yes()
    {
        await using var silo = await Silo.StartAsync();
        var queue = silo.Grains.GetGrain<IQueueGrain>("cli-purge");
        var dead = new List<long>();
        foreach (var payload in new[] { "dead-1", "dead-2", "dead-3" })
        {
            var id = await queue.SendAsync(payload, new SendOptions { MaxAttempts = 1 });
            var claimed = Assert.Single(await queue.ClaimAsync(new ClaimOptions { Owner = "test" }));
            Assert.Equal(FailOutcome.DeadLettered, (await queue.FailAsync(id, claimed.LeaseToken, "boom")).Outcome);
            dead.Add(id);
        }

        var waiting = await queue.SendAsync("waiting");
        async Task<long[]> ListedAsync() => [.. JsonDocument.Parse((await JobsCli.RunOkAsync(["dead-letters", "list", "cli-purge", "--json", .. silo.Connection])).Out)
            .RootElement.EnumerateArray().Select(job => job.GetProperty("jobId").GetInt64())];

        // bad arguments: exit 2, a message saying what would go, nothing deleted
        (string[] Arguments, string Message)[] refused =
        [
            (["dead-letters", "purge", "cli-purge"], "purge deletes for good every dead-lettered job of queue 'cli-purge'; add --yes"),
            (["dead-letters", "purge", "cli-purge", "--job-id", dead[0].ToString()], $"purge deletes for good job {dead[0]}, if dead-lettered, of queue 'cli-purge'; add --yes"),
            (["dead-letters", "purge", "cli-purge", "--job-id", "0", "--yes"], "--job-id[0] is 0: job ids are positive numbers"),
            (["dead-letters", "purge", "cli-purge", "--job-id", "abc", "--yes"], "abc"),
            (["dead-letters", "purge", "bad queue!", "--yes"], "Queue name 'bad queue!' is invalid"),
        ];
        foreach (var (arguments, message) in refused)
        {
            var result = await JobsCli.RunAsync([.. arguments, .. silo.Connection]);
            Assert.True(result.ExitCode == 2, $"jobs {string.Join(' ', arguments)}: {result}");
            Assert.Contains(message, result.Error);
        }

        Assert.Equal(dead, await ListedAsync());

        // named ids: only the dead letter among them goes; the waiting job named beside it stays
        var one = await JobsCli.RunOkAsync(["dead-letters", "purge", "cli-purge", "--job-id", dead[1].ToString(), "--job-id", waiting.ToString(), "--yes", .. silo.Connection]);
        Assert.Contains("purged 1 of the 2 jobs named in queue 'cli-purge'; the others are not dead letters there", one.Out);
        Assert.Equal([dead[0], dead[2]], await ListedAsync());

        var all = JsonDocument.Parse((await JobsCli.RunOkAsync(["dead-letters", "purge", "cli-purge", "--yes", "--json", .. silo.Connection])).Out).RootElement;
        Assert.Equal(2, all.GetProperty("purged").GetInt32());
        Assert.Equal(JsonValueKind.Null, all.GetProperty("jobIds").ValueKind);
        Assert.Empty(await ListedAsync());
        Assert.Equal(JobState.Available, (await queue.GetJobAsync(waiting))!.State);
        Assert.Contains("purged 0 dead letters of queue 'cli-purge'.", (await JobsCli.RunOkAsync(["dead-letters", "purge", "cli-purge", "--yes", .. silo.Connection])).Out);
    }

    [Fact]
    public async Task Unmonitored_lists_lost_jobs_by_owner_and_expire_runs_a_gone_owners_jobs_again_leaving_the_others()
    {
        await using var silo = await Silo.StartAsync();
        var queue = silo.Grains.GetGrain<IQueueGrain>("cli-lost");
        var gone = await queue.SendBatchAsync([new JobMessage("lost-1"), new JobMessage("lost-2")]);
        Assert.Equal(gone, (await queue.ClaimAsync(new ClaimOptions { Owner = "gone-worker", MaxJobs = 2, Monitored = false })).Select(j => j.JobId));
        var live = await queue.SendAsync("held");
        Assert.Equal(live, Assert.Single(await queue.ClaimAsync(new ClaimOptions { Owner = "live-worker", Monitored = false })).JobId);
        var leased = await queue.SendAsync("leased");
        Assert.Equal(leased, Assert.Single(await queue.ClaimAsync(new ClaimOptions { Owner = "gone-worker", LeaseDuration = TimeSpan.FromHours(1) })).JobId); // monitored: its lease returns it (an hour, so a slow machine's test never outlives it)

        var list = await JobsCli.RunOkAsync(["unmonitored", "list", "cli-lost", .. silo.Connection]);
        Assert.Contains("queue cli-lost: 3 unmonitored running jobs of 2 owners", list.Out);
        Assert.Contains($"owner gone-worker: 2 jobs ({gone[0]}, {gone[1]})", list.Out);
        Assert.Contains($"owner live-worker: 1 job ({live})", list.Out);
        Assert.Contains("jobs unmonitored expire cli-lost --owner <owner>", list.Out);
        var json = JsonDocument.Parse((await JobsCli.RunOkAsync(["unmonitored", "list", "cli-lost", "--json", .. silo.Connection])).Out).RootElement;
        Assert.True(json.GetProperty("complete").GetBoolean());
        Assert.Equal(["gone-worker", "live-worker"], json.GetProperty("owners").EnumerateArray().Select(o => o.GetProperty("owner").GetString()));

        (string[] Arguments, string Message)[] refused =
        [
            (["unmonitored", "expire", "cli-lost"], "Option '--owner' is required"),
            (["unmonitored", "expire", "cli-lost", "--owner", " "], "--owner must be 1 to 128 characters and not blank"),
            (["unmonitored", "expire", "cli-lost", "--owner", new string('o', 129)], "--owner must be 1 to 128 characters"),
            (["unmonitored", "expire", "cli-lost", "--owner", "gone\u0001worker"], "--owner has control character U+0001 at position 4"),
            (["unmonitored", "expire", "bad queue!", "--owner", "gone-worker"], "Queue name 'bad queue!' is invalid"),
            (["unmonitored", "list"], "Required argument missing for command: 'list'"),
        ];
        foreach (var (arguments, message) in refused)
        {
            var result = await JobsCli.RunAsync([.. arguments, .. silo.Connection]);
            Assert.True(result.ExitCode == 2, $"jobs {string.Join(' ', arguments)}: {result}");
            Assert.Contains(message, result.Error);
        }

        Assert.Equal(4, (await queue.GetCountsAsync()).Running); // nothing was expired by a refused command

        var expired = await JobsCli.RunOkAsync(["unmonitored", "expire", "cli-lost", "--owner", "gone-worker", .. silo.Connection]);
        Assert.Contains("expired 2 unmonitored jobs of owner 'gone-worker' in queue 'cli-lost': each runs again, or is dead-lettered on its last attempt.", expired.Out);
        foreach (var id in gone)
        {
            var job = await queue.GetJobAsync(id);
            Assert.Equal(JobState.Available, job!.State);
            Assert.Contains("gone-worker", job.LastError);
        }

        var held = await queue.GetJobAsync(live);
        Assert.Equal((JobState.Running, "live-worker"), (held!.State, held.Owner));
        Assert.Equal(JobState.Running, (await queue.GetJobAsync(leased))!.State);
        var again = JsonDocument.Parse((await JobsCli.RunOkAsync(["unmonitored", "expire", "cli-lost", "--owner", "gone-worker", "--json", .. silo.Connection])).Out).RootElement;
        Assert.Equal(0, again.GetProperty("expired").GetInt32());
        Assert.Contains("owner 'gone-worker' holds no unmonitored running job in queue 'cli-lost'; nothing changed.",
            (await JobsCli.RunOkAsync(["unmonitored", "expire", "cli-lost", "--owner", "gone-worker", .. silo.Connection])).Out);
    }

    [Fact]
    public async Task Stop_workers_stops_the_silos_workers()
    {
        await using var silo = await Silo.StartAsync();
        var heartbeats = silo.Grains.GetGrain<IWorkerHeartbeatGrain>(0);
        await Eventually.TrueAsync(async () => (await heartbeats.ListAsync()).Count == 1, "the silo's workers to beat");

        var result = await JobsCli.RunOkAsync(["stop-workers", .. silo.Connection]);
        Assert.Contains("stop sent to 1 worker", result.Out);
        await Eventually.TrueAsync(async () => (await heartbeats.ListAsync()).Single() is { StopRequested: true, Beat.Status: WorkerStatus.Stopping }, "the worker to hear the stop");
        var id = await silo.Grains.GetGrain<IQueueGrain>(WorkQueue).SendAsync("after the stop");
        var net = await JobsCli.RunOkAsync(["net", .. silo.Connection]);
        Assert.Contains("status=Stopping", net.Out);
        Assert.Contains("stop-requested", net.Out);
        Assert.Equal(JobState.Available, (await silo.Grains.GetGrain<IQueueGrain>(WorkQueue).GetJobAsync(id))!.State); // a stopped worker takes no more
    }

    [Fact]
    public async Task Bad_arguments_exit_2_with_a_message_and_change_nothing()
    {
        await using var silo = await Silo.StartAsync();
        var queue = silo.Grains.GetGrain<IQueueGrain>("cli-bad");
        await queue.SendAsync("keep");

        var unknown = await JobsCli.RunAsync(["frobnicate", .. silo.Connection]);
        Assert.Equal(2, unknown.ExitCode);
        Assert.Contains("'frobnicate'", unknown.Error);

        var badQueue = await JobsCli.RunAsync(["status", "--queue", "no spaces", .. silo.Connection]);
        Assert.Equal(2, badQueue.ExitCode);
        Assert.Contains("Queue name 'no spaces' is invalid", badQueue.Error);

        var nothingNamed = await JobsCli.RunAsync(["status", .. silo.Connection]);
        Assert.Equal(2, nothingNamed.ExitCode);
        Assert.Contains("--queue", nothingNamed.Error);

        string[][] keys = [["--cluster-key", "secret"], ["--cluster-key=secret"], ["silo", "start", "--", "--cluster-key", "secret"]];
        foreach (var key in keys)
        {
            var refused = await JobsCli.RunAsync([.. key, "stop-workers", .. silo.Connection]);
            Assert.Equal(2, refused.ExitCode);
            Assert.Contains("process list", refused.Error);
            Assert.Contains("--cluster-key-file", refused.Error);
        }

        var badGateway = await JobsCli.RunAsync(["net", "--gateway", "not-an-address"]);
        Assert.Equal(2, badGateway.ExitCode);
        Assert.Contains("--gateway 'not-an-address'", badGateway.Error);

        Assert.Equal(new QueueCounts(1, 0, 0, 0, 0), await queue.GetCountsAsync());
        Assert.DoesNotContain(await silo.Grains.GetGrain<IWorkerHeartbeatGrain>(0).ListAsync(), w => w.StopRequested);

        var help = await JobsCli.RunOkAsync(["dead-letters", "requeue", "--help"]);
        Assert.Contains("job-id", help.Out);
    }

    [Fact]
    public async Task An_unreachable_gateway_exits_1_naming_the_gateway_and_settings()
    {
        var port = StockSilo.FreePort();
        var result = await JobsCli.RunAsync("net", "--gateway", $"127.0.0.1:{port}", "--cluster-id", "nowhere", "--connect-attempts", "1");
        Assert.Equal(1, result.ExitCode);
        Assert.Contains($"127.0.0.1:{port}", result.Error);
        Assert.Contains("'nowhere'", result.Error);
        Assert.Contains("Cluster:ClusterId", result.Error);
        Assert.Equal("", result.Out);
    }

    [Fact]
    public async Task Silo_start_status_and_stop_round_trip_with_a_pid_file()
    {
        var dir = Directory.CreateTempSubdirectory("jobs-cli-");
        try
        {
            var (gatewayPort, id) = (StockSilo.FreePort(), $"cli-{Guid.NewGuid():N}");
            string[] where = ["--pid-dir", Path.Combine(dir.FullName, "run"), "--log-dir", Path.Combine(dir.FullName, "logs")];
            var pidFile = Path.Combine(dir.FullName, "run", "silo.pid");

            var notYet = JsonDocument.Parse((await JobsCli.RunOkAsync(["silo", "status", "--json", .. where])).Out).RootElement;
            Assert.False(notYet.GetProperty("running").GetBoolean());

            var start = await JobsCli.RunOkAsync(["silo", "start", .. where, "--silo", Path.Combine(AppContext.BaseDirectory, SiloCommandsAssembly), "--timeout", "90", "--",
                "--Gateway:Port=0", $"--Cluster:SiloPort={StockSilo.FreePort()}", $"--Cluster:GatewayPort={gatewayPort}", $"--Cluster:ClusterId={id}", $"--Cluster:ServiceId={id}"]);
            Assert.Contains("started silo 'silo': pid", start.Out);
            Assert.Contains("Serving:", start.Out);
            var pid = int.Parse(File.ReadAllText(pidFile).Trim());
            using var process = System.Diagnostics.Process.GetProcessById(pid);

            var again = await JobsCli.RunAsync(["silo", "start", .. where]);
            Assert.Equal(1, again.ExitCode);
            Assert.Contains($"already running (pid {pid}", again.Error);

            var status = JsonDocument.Parse((await JobsCli.RunOkAsync(["silo", "status", "--json", .. where])).Out).RootElement;
            Assert.True(status.GetProperty("running").GetBoolean());
            Assert.Equal(pid, status.GetProperty("pid").GetInt32());
            Assert.True(status.GetProperty("uptimeSeconds").GetDouble() >= 0);
            Assert.Contains($"pid {pid}, up", (await JobsCli.RunOkAsync(["silo", "status", .. where])).Out);

            var net = await JobsCli.RunOkAsync(["net", "--gateway", $"127.0.0.1:{gatewayPort}", "--cluster-id", id, "--service-id", id]);
            Assert.Contains("silos: 1", net.Out);

            // restart: the same silo and options as the last start
            var restart = await JobsCli.RunOkAsync(["silo", "restart", .. where, "--timeout", "90"]);
            Assert.Contains($"stopped silo 'silo' (pid {pid})", restart.Out);
            Assert.True(await Eventually.WithinAsync(process.WaitForExitAsync(Ct).ContinueWith(_ => true, Ct), "the first silo process to be gone", TimeSpan.FromSeconds(10)));
            var restarted = int.Parse(File.ReadAllText(pidFile).Trim());
            Assert.NotEqual(pid, restarted);
            Assert.Contains("silos: 1", (await JobsCli.RunOkAsync(["net", "--gateway", $"127.0.0.1:{gatewayPort}", "--cluster-id", id, "--service-id", id])).Out);
            pid = restarted;
            using var second = System.Diagnostics.Process.GetProcessById(pid);

            var stop = await JobsCli.RunOkAsync(["silo", "stop", "--timeout", "60", .. where]);
            Assert.Contains($"stopped silo 'silo' (pid {pid})", stop.Out);
            Assert.DoesNotContain("SIGKILL", stop.Out);
            Assert.True(await Eventually.WithinAsync(second.WaitForExitAsync(Ct).ContinueWith(_ => true, Ct), "the silo process to be gone", TimeSpan.FromSeconds(10)));
            Assert.False(File.Exists(pidFile));
            Assert.Contains("is not running", (await JobsCli.RunOkAsync(["silo", "status", .. where])).Out);
            Assert.Contains("is not running", (await JobsCli.RunOkAsync(["silo", "stop", .. where])).Out);
            Assert.Contains("Serving:", File.ReadAllText(Path.Combine(dir.FullName, "logs", "silo.log")));
        }
        finally
        {
            await JobsCli.RunAsync(["silo", "stop", "--timeout", "5", "--pid-dir", Path.Combine(dir.FullName, "run"), "--log-dir", Path.Combine(dir.FullName, "logs")]);
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task A_foreground_silo_gets_the_cluster_key_from_the_key_file_and_stops_on_silo_stop()
    {
        var dir = Directory.CreateTempSubdirectory("jobs-cli-");
        try
        {
            var keyFile = Path.Combine(dir.FullName, "cluster.key");
            File.WriteAllText(keyFile, "key-from-a-file\n");
            string[] where = ["--pid-dir", dir.FullName, "--log-dir", dir.FullName];
            await using var cli = ChildProcess.StartDotnet(Path.Combine("jobs-cli", "jobs.dll"), ["silo", "start", "--foreground", .. where, "--cluster-key-file", keyFile,
                "--silo", Path.Combine(AppContext.BaseDirectory, SiloCommandsAssembly), "--", "--Gateway:Port=0", $"--Cluster:SiloPort={StockSilo.FreePort()}",
                $"--Cluster:GatewayPort={StockSilo.FreePort()}", $"--Cluster:ClusterId=cli-{Guid.NewGuid():N}"]);
            var serving = await cli.ReadLineStartingWithAsync("Serving:", "the foreground silo to serve", TimeSpan.FromSeconds(90));
            var gateway = new Uri(serving.Split(' ').Single(word => word.StartsWith("http", StringComparison.Ordinal)));

            using var http = new HttpClient { BaseAddress = gateway, Timeout = TimeSpan.FromSeconds(30) };
            Assert.Equal(System.Net.HttpStatusCode.Unauthorized, (await http.GetAsync("/v1/cluster", Ct)).StatusCode);
            http.DefaultRequestHeaders.Add(Orleans.Jobs.Silo.Gateway.GatewayProtocol.ClusterKeyHeader, "key-from-a-file");
            Assert.Equal(System.Net.HttpStatusCode.OK, (await http.GetAsync("/v1/cluster", Ct)).StatusCode);
            Assert.DoesNotContain("key-from-a-file", File.ReadAllText($"/proc/{JsonDocument.Parse((await JobsCli.RunOkAsync(["silo", "status", "--json", .. where])).Out).RootElement.GetProperty("pid").GetInt32()}/cmdline"));

            Assert.Contains("stopped silo 'silo'", (await JobsCli.RunOkAsync(["silo", "stop", .. where])).Out);
            Assert.Equal(0, await cli.WaitForExitAsync("the foreground CLI to exit with its silo", TimeSpan.FromSeconds(60)));
            Assert.False(File.Exists(Path.Combine(dir.FullName, "silo.pid")));
        }
        finally
        {
            await JobsCli.RunAsync(["silo", "stop", "--timeout", "5", "--pid-dir", dir.FullName, "--log-dir", dir.FullName]);
            dir.Delete(recursive: true);
        }
    }

    private const string SiloCommandsAssembly = "Orleans.Jobs.Silo.dll";
}
