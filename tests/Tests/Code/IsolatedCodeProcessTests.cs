using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.CodeAnalysis.Emit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Orleans.Jobs.Client.Code;
using Orleans.Jobs.Grains.Interfaces.Code;
using Orleans.Jobs.Silo.Code;

namespace Orleans.Jobs.Tests.Code;

/// <summary>One silo with a cluster key; the code the tests run in child processes is posted once, with its symbols.</summary>
public sealed class IsolatedCodeCluster : IAsyncLifetime
{
    public const string ClusterKey = "isolated-code-test-key";

    public JobsCluster Cluster { get; private set; } = null!;

    public string Source { get; } = TestAssemblies.IsolatedSource();

    public string Hash { get; private set; } = "";

    public PostedCodeCache Cache => JobsCluster.Services(Cluster.Primary).GetRequiredService<PostedCodeCache>();

    public ILogger<IsolatedCodeProcess> Logger => JobsCluster.Services(Cluster.Primary).GetRequiredService<ILogger<IsolatedCodeProcess>>();

    public async ValueTask InitializeAsync()
    {
        Cluster = new JobsClusterBuilder(1, StoreKind.InMemory).Set("Gateway:ClusterKey", ClusterKey).Build();
        await Cluster.DeployAsync();
        var (assembly, pdb) = TestAssemblies.CompileWithSymbols(Source, "/nowhere/Isolated.cs", DebugInformationFormat.PortablePdb, embedSource: true, assemblyName: "Isolated");
        Hash = (await new PostedCode(Cluster.Client, ClusterKey).PostAsync(new PostedCodeUpload(assembly, "isolated functions", Symbols: pdb), TestContext.Current.CancellationToken)).Hash;
    }

    public async ValueTask DisposeAsync()
    {
        var cache = Cache.Directory;
        await Cluster.DisposeAsync();
        if (Directory.Exists(cache)) Directory.Delete(cache, recursive: true);
    }
}

/// <summary>Posted functions in a code host, a child process: results, errors, crashes that spare the silo, console output, cancellation and disposal.</summary>
public sealed class IsolatedCodeProcessTests(IsolatedCodeCluster fixture) : IClassFixture<IsolatedCodeCluster>
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(15);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private Task<IsolatedCodeProcess> StartAsync() => IsolatedCodeProcess.StartAsync(fixture.Cache, fixture.Logger, cancellationToken: Ct);

    private PostedFunctionCall Call(string function, string args = PostedFunctionCall.NoArgs) => new(fixture.Hash, $"Isolated.Functions.{function}", args);

    /// <summary>The child is gone and reaped: no zombie left under /proc.</summary>
    private static async Task GoneAsync(int processId)
    {
        var status = $"/proc/{processId}/status";
        var clock = Stopwatch.StartNew();
        while (File.Exists(status))
        {
            if (clock.Elapsed > Bound)
                Assert.Fail($"Code host {processId} is still there after {Bound.TotalSeconds:0}s:\n{await File.ReadAllTextAsync(status, Ct)}");
            await Task.Delay(20, Ct);
        }
    }

    [Fact]
    public async Task A_function_runs_in_a_child_process_that_never_sees_the_cluster_key()
    {
        // Secrets the silo's environment might carry, by name and by value: neither may reach the child.
        var (byName, byValue) = ($"OJ_TEST_{Guid.NewGuid():N}_Gateway__ClusterKey", $"OJ_TEST_{Guid.NewGuid():N}_SECRET");
        Environment.SetEnvironmentVariable(byName, "named like the key");
        Environment.SetEnvironmentVariable(byValue, IsolatedCodeCluster.ClusterKey);
        IsolatedCodeProcess host;
        try
        {
            host = await StartAsync();
        }
        finally
        {
            Environment.SetEnvironmentVariable(byName, null);
            Environment.SetEnvironmentVariable(byValue, null);
        }

        await using (host)
        {
            Assert.NotEqual(Environment.ProcessId, host.ProcessId);
            var result = await host.RunAsync(Call("WhereAmI", """{"n": 7}"""), jobId: 42, attempt: 2, Ct);
            Assert.Equal($$"""{{host.ProcessId}}|{{fixture.Cache.SiloId}}|42|2|{"n": 7}""", result);
            Assert.Equal(result, await host.RunAsync(Call("WhereAmI", """{"n": 7}"""), 42, 2, Ct)); // loaded once, same process
            Assert.True(File.Exists(Path.Combine(fixture.Cache.Directory, fixture.Hash + ".dll")));
            Assert.True(File.Exists(Path.Combine(fixture.Cache.Directory, fixture.Hash + ".pdb")));
            if (!OperatingSystem.IsWindows()) Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(fixture.Cache.Directory));

            if (OperatingSystem.IsLinux())
            {
                var environment = Encoding.UTF8.GetString(await File.ReadAllBytesAsync($"/proc/{host.ProcessId}/environ", Ct));
                var commandLine = Encoding.UTF8.GetString(await File.ReadAllBytesAsync($"/proc/{host.ProcessId}/cmdline", Ct));
                Assert.DoesNotContain(IsolatedCodeCluster.ClusterKey, environment);
                Assert.DoesNotContain(byName, environment);
                Assert.DoesNotContain(byValue, environment);
                Assert.DoesNotContain(IsolatedCodeCluster.ClusterKey, commandLine);
            }
        }

        await GoneAsync(host.ProcessId);
    }

    [Fact]
    public async Task A_function_that_throws_gives_its_error_record_with_the_line_and_the_child_lives_on()
    {
        await using var host = await StartAsync();
        var refused = await Assert.ThrowsAsync<PostedCodeException>(() => host.RunAsync(Call("Throws"), null, 1, Ct));
        Assert.Equal("Function Isolated.Functions.Throws threw System.InvalidOperationException: thrown in the child", refused.Message);
        var (line, statement) = TestAssemblies.LineOf(fixture.Source, "child-throw");
        Assert.Equal(
            new PostedCodeError("thrown in the child", "System.InvalidOperationException", "Isolated.Functions.Throws", "Functions.Throws", line, statement, "/nowhere/Isolated.cs"),
            refused.Error);

        Assert.False(host.HasExited);
        Assert.StartsWith($"{host.ProcessId}|", await host.RunAsync(Call("WhereAmI"), null, 1, Ct));
    }

    [Fact]
    public async Task Calls_the_silo_refuses_never_reach_the_child()
    {
        await using var host = await StartAsync();
        var unknown = await Assert.ThrowsAsync<PostedCodeException>(() => host.RunAsync(Call("WhereAmI") with { Hash = new string('b', 64) }, null, 1, Ct));
        Assert.Contains($"No code is posted under hash {new string('b', 64)}", unknown.Message);
        Assert.Null(unknown.Error);
        var missing = await Assert.ThrowsAsync<PostedCodeException>(() => host.RunAsync(Call("Nope"), null, 1, Ct));
        Assert.Contains("it has no public static method 'Nope'", missing.Message);
        await Assert.ThrowsAsync<ArgumentException>(() => host.RunAsync(Call("WhereAmI", "{not json"), null, 1, Ct));
        Assert.False(host.HasExited);
    }

    [Theory]
    [InlineData("FailFast", "posted code failed fast")]
    [InlineData("ThrowOnAThreadOfItsOwn", "thrown on a thread of its own")]
    public async Task A_crash_in_job_code_ends_only_the_child_and_a_new_one_runs(string function, string lastWords)
    {
        var crashed = await StartAsync();
        await using (crashed)
        {
            var crash = await Assert.ThrowsAsync<CodeHostCrashedException>(() => crashed.RunAsync(Call(function), null, 1, Ct));
            Assert.Contains($"The code host (process {crashed.ProcessId}) exited: exit code", crash.Message);
            Assert.Contains(crash.LastErrorLines, l => l.Contains(lastWords, StringComparison.Ordinal));
            Assert.NotEqual(0, crash.ExitCode);
            Assert.True(crashed.HasExited);
            var again = await Assert.ThrowsAsync<CodeHostCrashedException>(() => crashed.RunAsync(Call("WhereAmI"), null, 1, Ct));
            Assert.Equal(crash.Message, again.Message);
        }

        await GoneAsync(crashed.ProcessId);
        Assert.True(fixture.Cluster.Primary.IsActive); // the silo, in this process, lives on
        await using var next = await StartAsync();
        Assert.StartsWith($"{next.ProcessId}|", await next.RunAsync(Call("WhereAmI"), null, 1, Ct));
    }

    [Fact]
    public async Task What_job_code_writes_to_the_console_does_not_break_the_protocol()
    {
        await using var host = await StartAsync();
        Assert.Equal("the real result", await host.RunAsync(Call("Chatty"), null, 1, Ct)); // the first call: its id is 1, as the forged line's
        Assert.StartsWith($"{host.ProcessId}|", await host.RunAsync(Call("WhereAmI"), null, 1, Ct));
    }

    [Fact]
    public async Task Dispose_kills_a_hung_child_within_a_bounded_time()
    {
        var host = await StartAsync();
        var (hung, started) = StartHanging(host);
        await Eventually.TrueAsync(() => File.Exists(started), "the hanging function to start", Bound);

        var clock = Stopwatch.StartNew();
        await host.DisposeAsync();
        Assert.True(clock.Elapsed < Bound, $"Disposing took {clock.Elapsed}.");
        var killed = await Assert.ThrowsAsync<CodeHostCrashedException>(() => hung.WaitAsync(Bound, Ct));
        Assert.Contains("was killed because it was disposed", killed.Message);
        await GoneAsync(host.ProcessId);
        File.Delete(started);
    }

    [Fact]
    public async Task A_cancelled_call_kills_the_child()
    {
        await using var host = await StartAsync();
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var (hung, started) = StartHanging(host, cancel.Token);
        await Eventually.TrueAsync(() => File.Exists(started), "the hanging function to start", Bound);

        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => hung.WaitAsync(Bound, Ct));
        await GoneAsync(host.ProcessId);
        await Eventually.TrueAsync(() => host.HasExited, "the host to notice its child is dead", Bound);
        Assert.Contains("was killed because a call was cancelled", (await Assert.ThrowsAsync<CodeHostCrashedException>(() => host.RunAsync(Call("WhereAmI"), null, 1, Ct))).Message);
        File.Delete(started);
    }

    [Fact]
    public async Task A_child_not_ready_within_the_start_timeout_is_killed()
    {
        var late = await Assert.ThrowsAsync<TimeoutException>(() => IsolatedCodeProcess.StartAsync(fixture.Cache, fixture.Logger, TimeSpan.FromMilliseconds(1), Ct));
        var match = Regex.Match(late.Message, @"^The code host \(process (\d+)\) did not start within 00:00:00.0010000: it was killed\.");
        Assert.True(match.Success, late.Message);
        await GoneAsync(int.Parse(match.Groups[1].Value));
    }

    private (Task<string?> Hung, string Started) StartHanging(IsolatedCodeProcess host, CancellationToken? cancellationToken = null)
    {
        var started = Path.Combine(Path.GetTempPath(), $"oj-hang-{Guid.NewGuid():N}");
        return (host.RunAsync(Call("Hang", $$"""{"started": "{{started}}"}"""), null, 1, cancellationToken ?? Ct), started);
    }
}
