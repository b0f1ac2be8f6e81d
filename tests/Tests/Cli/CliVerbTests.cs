using System.Text.Json;
using Orleans.Jobs.Client.Code;
using Orleans.Jobs.Client.Sweeps;
using Orleans.Jobs.Grains.Interfaces;
using Orleans.Jobs.Grains.Interfaces.Code;
using Orleans.Jobs.Tests.Code;

namespace Orleans.Jobs.Tests.Cli;

/// <summary>
/// JobMon's posted-code and sweep verbs through the real <c>jobs</c> executable: <c>post</c>, <c>source</c>,
/// <c>clean</c> and <c>sweep</c> against a stock silo, and their bad arguments (exit 2, nothing done).
/// </summary>
public sealed class CliVerbTests
{
    private const string Square = "Demo.Functions.Square";

    [Fact]
    public async Task Post_runs_a_function_source_lists_it_and_clean_removes_it()
    {
        await using var silo = await CliTests.Silo.StartAsync();
        var dir = Directory.CreateTempSubdirectory("jobs-cli-post-");
        try
        {
            var bytes = TestAssemblies.Demo(version: 1);
            var hash = PostedCodeRules.HashOf(bytes);
            var dll = Path.Combine(dir.FullName, "Demo.dll");
            File.WriteAllBytes(dll, bytes);
            var keyFile = Path.Combine(dir.FullName, "cluster.key");
            File.WriteAllText(keyFile, StockSilo.ClusterKey + "\n");
            string[] withKey = ["--cluster-key-file", keyFile, .. silo.Connection];

            var noKey = await JobsCli.RunAsync(["post", dll, "demo kernels", .. silo.Connection]);
            Assert.Equal(1, noKey.ExitCode);
            Assert.Contains("without the cluster key", noKey.Error);
            var wrongKeyFile = Path.Combine(dir.FullName, "wrong.key");
            File.WriteAllText(wrongKeyFile, "not-the-key");
            var wrongKey = await JobsCli.RunAsync(["post", dll, "demo kernels", "--cluster-key-file", wrongKeyFile, .. silo.Connection]);
            Assert.Equal(1, wrongKey.ExitCode);
            Assert.Contains("refused the cluster key", wrongKey.Error);
            Assert.Empty(await new PostedCode(silo.Grains, StockSilo.ClusterKey).ListAsync(includeRemoved: true, Ct));

            var run = await JobsCli.RunOkAsync(["post", dll, "demo kernels", "--function", Square, "--args", """{"n": 7}""", "--count", "3", .. withKey]);
            Assert.Contains($"posted {hash}", run.Out);
            Assert.Equal(3, run.Out.Split('\n').Count(line => line.StartsWith("job ", StringComparison.Ordinal) && line.TrimEnd().EndsWith(": 49", StringComparison.Ordinal)));

            var json = JsonDocument.Parse((await JobsCli.RunOkAsync(["post", dll, "demo kernels", "--function", Square, "--args", """{"n": 3}""", "--json", .. withKey])).Out).RootElement;
            Assert.Equal(hash, json.GetProperty("posted").GetProperty("hash").GetString());
            Assert.Equal("9", Assert.Single(json.GetProperty("runs").EnumerateArray()).GetProperty("result").GetString());

            var listed = await JobsCli.RunOkAsync(["source", .. silo.Connection]);
            Assert.Contains("posted code: 1", listed.Out);
            Assert.Contains($"code {hash} description=\"demo kernels\"", listed.Out);
            Assert.Contains($"size={bytes.Length} removed=-", listed.Out);
            var one = JsonDocument.Parse((await JobsCli.RunOkAsync(["source", hash, "--json", .. silo.Connection])).Out).RootElement;
            Assert.Equal("demo kernels", one.GetProperty("description").GetString());
            Assert.Equal(JsonValueKind.Null, one.GetProperty("removedAt").ValueKind);

            var noKeyClean = await JobsCli.RunAsync(["clean", hash, .. silo.Connection]);
            Assert.Equal(1, noKeyClean.ExitCode);
            Assert.Contains("without the cluster key", noKeyClean.Error);

            Assert.Contains($"removed {hash} (demo kernels)", (await JobsCli.RunOkAsync(["clean", hash, .. withKey])).Out);
            Assert.Contains("was already removed", (await JobsCli.RunOkAsync(["clean", hash, .. withKey])).Out);
            var removed = JsonDocument.Parse((await JobsCli.RunOkAsync(["source", hash, "--json", .. silo.Connection])).Out).RootElement;
            Assert.NotEqual(JsonValueKind.Null, removed.GetProperty("removedAt").ValueKind);
            var refused = await Assert.ThrowsAsync<PostedFunctionFailedException>(() =>
                new PostedCode(silo.Grains, StockSilo.ClusterKey).RunAsync(hash, Square, """{"n": 2}""", new SendOptions { MaxAttempts = 1 }, TimeSpan.FromSeconds(60), Ct));
            Assert.Contains("removed", refused.Message);

            var unknown = await JobsCli.RunAsync(["source", new string('a', 64), .. silo.Connection]);
            Assert.Equal(1, unknown.ExitCode);
            Assert.Contains("nothing was posted under", unknown.Error);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Gc_forgets_removed_versions_older_than_asked_and_bad_ages_exit_2()
    {
        await using var silo = await CliTests.Silo.StartAsync();
        var code = new PostedCode(silo.Grains, StockSilo.ClusterKey);
        var live = await code.PostAsync(TestAssemblies.Demo(1), "live", cancellationToken: Ct);
        var removed = await code.PostAsync(TestAssemblies.Demo(2), "removed", cancellationToken: Ct);
        Assert.True(await code.RemoveAsync(removed.Hash, Ct));
        var keyFile = Path.GetTempFileName();
        try
        {
            File.WriteAllText(keyFile, StockSilo.ClusterKey);
            string[] withKey = ["--cluster-key-file", keyFile, .. silo.Connection];
            (string[] Arguments, int ExitCode, string Message)[] refused =
            [
                (["gc", "--older-than", "0s", .. silo.Connection], 1, "without the cluster key"),
                (["gc", "--older-than", "5x", .. withKey], 2, "--older-than '5x' is not a duration"),
                (["gc", "--older-than", "1.5h", .. withKey], 2, "is not a duration"),
                (["gc", "--older-than", "3651d", .. withKey], 2, "--older-than must be between"),
            ];
            foreach (var (arguments, exitCode, message) in refused)
            {
                var result = await JobsCli.RunAsync(arguments);
                Assert.True(result.ExitCode == exitCode, $"jobs {string.Join(' ', arguments)}: {result}");
                Assert.Contains(message, result.Error);
            }

            Assert.Contains("gc: forgot 0 versions removed more than 1h00m ago", (await JobsCli.RunOkAsync(["gc", "--older-than", "1h", .. withKey])).Out);
            Assert.Contains("gc: forgot 0 versions removed more than 7d00h ago", (await JobsCli.RunOkAsync(["gc", .. withKey])).Out);
            Assert.Equal(2, (await code.ListAsync(includeRemoved: true, Ct)).Count);

            var json = JsonDocument.Parse((await JobsCli.RunOkAsync(["gc", "--older-than", "0s", "--json", .. withKey])).Out).RootElement;
            Assert.Equal(0, json.GetProperty("olderThanSeconds").GetInt64());
            Assert.Equal(removed.Hash, Assert.Single(json.GetProperty("forgotten").EnumerateArray()).GetString());
            Assert.Contains("nothing was posted under", (await JobsCli.RunAsync(["source", removed.Hash, .. silo.Connection])).Error);
            Assert.Equal([live], await code.ListAsync(includeRemoved: true, Ct));
        }
        finally
        {
            File.Delete(keyFile);
        }
    }

    [Fact]
    public async Task A_2x3_sweep_posts_6_then_0_and_results_lists_6_with_results()
    {
        await using var silo = await CliTests.Silo.StartAsync();
        string[] sweep = ["sweep", CliTests.WorkQueue, "--param", "model=linear,forest", "--range", "depth=1:3", "--ground", """{"accuracy": 0.9}""", "--description", "model x depth"];

        var first = await JobsCli.RunOkAsync([.. sweep, .. silo.Connection]);
        Assert.Contains("6 parameter sets, 6 posted, 0 already posted", first.Out);
        var second = JsonDocument.Parse((await JobsCli.RunOkAsync([.. sweep, "--json", .. silo.Connection])).Out).RootElement;
        Assert.Equal(0, second.GetProperty("posted").GetInt32());
        Assert.Equal(6, second.GetProperty("alreadyPosted").GetInt32());
        Assert.Contains(second.GetProperty("jobHash").GetString()!, first.Out);

        await Eventually.TrueAsync(async () => (await Sweep.GetResultsAsync(silo.Grains, CliTests.WorkQueue)).All(e => e.State == JobState.Completed), "the sweep's jobs to complete");
        var experiments = JsonDocument.Parse((await JobsCli.RunOkAsync(["sweep", CliTests.WorkQueue, "--results", "--json", .. silo.Connection])).Out).RootElement.EnumerateArray().ToList();
        Assert.Equal(6, experiments.Count);
        foreach (var e in experiments)
        {
            Assert.Equal("Completed", e.GetProperty("state").GetString());
            Assert.Equal(e.GetProperty("parameters").GetString(), e.GetProperty("result").GetString()); // the handler echoes its payload
            Assert.Contains("0.9", e.GetProperty("ground").GetString());
        }

        Assert.Equal(
            ["{\"depth\":1,\"model\":\"forest\"}", "{\"depth\":1,\"model\":\"linear\"}", "{\"depth\":2,\"model\":\"forest\"}", "{\"depth\":2,\"model\":\"linear\"}", "{\"depth\":3,\"model\":\"forest\"}", "{\"depth\":3,\"model\":\"linear\"}"],
            experiments.Select(e => e.GetProperty("parameters").GetString()!).Order(StringComparer.Ordinal));
        var text = await JobsCli.RunOkAsync(["sweep", CliTests.WorkQueue, "--results", .. silo.Connection]);
        Assert.Contains("experiments: 6", text.Out);
        Assert.Contains("state=Completed", text.Out);
    }

    [Fact]
    public async Task Bad_post_source_clean_and_sweep_arguments_exit_2_and_do_nothing()
    {
        await using var silo = await CliTests.Silo.StartAsync();
        var dir = Directory.CreateTempSubdirectory("jobs-cli-bad-");
        try
        {
            var dll = Path.Combine(dir.FullName, "Demo.dll");
            File.WriteAllBytes(dll, TestAssemblies.Demo(version: 1));
            var keyFile = Path.Combine(dir.FullName, "cluster.key");
            File.WriteAllText(keyFile, StockSilo.ClusterKey);
            string[] withKey = ["--cluster-key-file", keyFile, .. silo.Connection];
            (string[] Arguments, string Message)[] cases =
            [
                (["post", Path.Combine(dir.FullName, "missing.dll"), "demo", .. withKey], "does not exist"),
                (["post", dll, "demo", "--function", "NoDots", .. withKey], "Function name 'NoDots' is invalid"),
                (["post", dll, "demo", "--function", Square, "--args", "{not json", .. withKey], "not valid JSON"),
                (["post", dll, "demo", "--count", "2", .. withKey], "need --function"),
                (["post", dll, "demo", "--function", Square, "--count", "0", .. withKey], "--count must be between"),
                (["source", "ABC", .. silo.Connection], "is not a posted-code hash"),
                (["clean", "xyz", .. withKey], "is not a posted-code hash"),
                (["sweep", CliTests.WorkQueue, .. silo.Connection], "--param"),
                (["sweep", CliTests.WorkQueue, "--param", "novalues", .. silo.Connection], "must be name=v1,v2,v3"),
                (["sweep", CliTests.WorkQueue, "--range", "depth=1:x", .. silo.Connection], "must be name=start:stop[:step]"),
                (["sweep", CliTests.WorkQueue, "--range", "depth=3:1", .. silo.Connection], "empty or endless"),
                (["sweep", CliTests.WorkQueue, "--param", "a=1,2", "--param", "a=3", .. silo.Connection], "already an axis"),
                (["sweep", CliTests.WorkQueue, "--param", "a=1,2", "--ground", "[1]", .. silo.Connection], "must be a JSON object"),
                (["sweep", CliTests.WorkQueue, "--param", "a=1,2", "--ground", "{", .. silo.Connection], "not valid JSON"),
                (["sweep", CliTests.WorkQueue, "--results", "--param", "a=1", .. silo.Connection], "takes no --param"),
                (["sweep", "bad queue!", "--param", "a=1", .. silo.Connection], "Queue name 'bad queue!' is invalid"),
            ];
            foreach (var (arguments, message) in cases)
            {
                var result = await JobsCli.RunAsync(arguments);
                Assert.True(result.ExitCode == 2, $"jobs {string.Join(' ', arguments)}: {result}");
                Assert.Contains(message, result.Error);
            }

            Assert.Empty(await new PostedCode(silo.Grains, StockSilo.ClusterKey).ListAsync(includeRemoved: true, Ct));
            Assert.Empty(await Sweep.GetResultsAsync(silo.Grains, CliTests.WorkQueue));
            Assert.Contains("--function", (await JobsCli.RunOkAsync(["post", "--help"])).Out);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    private static CancellationToken Ct => TestContext.Current.CancellationToken;
}
