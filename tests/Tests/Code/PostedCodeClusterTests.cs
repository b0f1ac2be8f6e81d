using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using Microsoft.CodeAnalysis.Emit;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Jobs.Client.Code;
using Orleans.Jobs.Grains.Code;
using Orleans.Jobs.Grains.Interfaces;
using Orleans.Jobs.Grains.Interfaces.Code;
using Orleans.TestingHost;

namespace Orleans.Jobs.Tests.Code;

/// <summary>Two silos on one job store with a cluster key of their own; shared by the tests of a class, each posting its own builds.</summary>
public abstract class PostedCodeCluster : StoreClusterFixture
{
    public const string ClusterKey = "posted-code-test-key";

    protected override JobsClusterBuilder Configure(JobsClusterBuilder builder) => builder
        .Set("Gateway:ClusterKey", ClusterKey)
        .Set("PostedCode:CheckPeriod", "00:00:00.500")
        .Set("Workers:MaxConcurrency", "4"); // so one silo cannot claim every job of a batch
}

public sealed class InMemoryPostedCodeCluster : PostedCodeCluster
{
    protected override StoreKind Kind => StoreKind.InMemory;
}

public sealed class PostgresPostedCodeCluster : PostedCodeCluster
{
    protected override StoreKind Kind => StoreKind.Postgres;
}

public sealed class InMemoryPostedCodeClusterTests(InMemoryPostedCodeCluster fixture) : PostedCodeClusterTests(fixture), IClassFixture<InMemoryPostedCodeCluster>;

public sealed class PostgresPostedCodeClusterTests(PostgresPostedCodeCluster fixture) : PostedCodeClusterTests(fixture), IClassFixture<PostgresPostedCodeCluster>
{
    [Fact]
    public async Task Posted_code_lives_in_grain_state_on_PostgreSQL_and_survives_its_grains_deactivation()
    {
        var posted = await Code.PostAsync(TestAssemblies.Demo(5), "stored in PostgreSQL", cancellationToken: Ct);
        var rows = await TestPostgres.ScalarAsync<long>($"select count(*) from {fixture.Schema}.orleansstorage where payloadbinary is not null and graintypestring like '%posted%'");
        Assert.True(rows >= 2, $"expected the version's and the catalog's state rows, found {rows}");

        // Every idle activation goes: the next calls read the state back from PostgreSQL.
        await fixture.Cluster.Client.GetGrain<IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero, Ct);
        Assert.Equal(posted, await Code.GetAsync(posted.Hash, Ct));
        Assert.Contains(posted, await Code.ListAsync(cancellationToken: Ct));
        Assert.Equal("125", await Code.RunAsync(posted.Hash, "Demo.Functions.Square", """{"n": 5}""", cancellationToken: Ct));
    }
}

/// <summary>Posted code end to end on two silos: post, run on both, two versions side by side, refusals, removal and unloading.</summary>
public abstract class PostedCodeClusterTests(PostedCodeCluster fixture)
{
    private static readonly SendOptions TwoAttempts = new() { MaxAttempts = 2 };

    protected static CancellationToken Ct => TestContext.Current.CancellationToken;

    protected PostedCode Code { get; } = new(fixture.Cluster.Client, PostedCodeCluster.ClusterKey);

    private static PostedCodeRunner Runner(SiloHandle silo) => JobsCluster.Services(silo).GetRequiredService<PostedCodeRunner>();

    [Fact]
    public async Task A_posted_assembly_runs_on_both_silos_and_a_changed_version_runs_beside_it()
    {
        var commit = new string('c', 40);
        var before = DateTimeOffset.UtcNow;
        var v1 = TestAssemblies.Demo(1);
        var one = await Code.PostAsync(v1, "demo v1", commit, Ct);
        Assert.Equal((PostedCodeRules.HashOf(v1), "demo v1", commit, (long)v1.Length), (one.Hash, one.Description, one.GitCommit, one.Size));
        Assert.StartsWith("Demo, Version=0.0.0.0", one.AssemblyName);
        Assert.InRange(one.SubmittedAt, before.AddSeconds(-5), DateTimeOffset.UtcNow.AddSeconds(5));
        Assert.Null(one.RemovedAt);

        // Batches of jobs until both silos ran some: each result names the silo that ran it.
        var silos = fixture.Cluster.Silos.Select(JobsCluster.Owner).ToHashSet();
        var ranOn = new HashSet<string>();
        await Eventually.TrueAsync(async () =>
        {
            var results = await RunManyAsync(one.Hash, "Demo.Functions.WhereAmI", 20);
            foreach (var result in results)
            {
                var parts = result!.Split('|');
                Assert.Equal("v1", parts[0]);
                Assert.Contains(parts[1], silos);
                ranOn.Add(parts[1]);
            }

            return ranOn.SetEquals(silos);
        }, "jobs of the posted code to run on both silos", TimeSpan.FromSeconds(90));
        Assert.All(fixture.Cluster.Silos, silo => Assert.Contains(one.Hash, Runner(silo).Loaded));

        // A changed version: another hash, another answer, both at once.
        var two = await Code.PostAsync(TestAssemblies.Demo(2), "demo v2", cancellationToken: Ct);
        Assert.NotEqual(one.Hash, two.Hash);
        var jobs = new List<(string Hash, long JobId)>();
        for (var i = 0; i < 20; i++)
        {
            var hash = i % 2 == 0 ? one.Hash : two.Hash;
            jobs.Add((hash, await Code.SendAsync(hash, "Demo.Functions.Square", """{"n": 7}""")));
        }

        foreach (var (hash, jobId) in jobs)
            Assert.Equal(hash == one.Hash ? "49" : "98", await Code.WaitForResultAsync(jobId, cancellationToken: Ct));
        Assert.Contains(fixture.Cluster.Silos, silo => Runner(silo).Loaded.Contains(one.Hash) && Runner(silo).Loaded.Contains(two.Hash));
        var listed = await Code.ListAsync(cancellationToken: Ct);
        Assert.Contains(one, listed);
        Assert.Contains(two, listed);
    }

    [Fact]
    public async Task Posting_the_same_bytes_again_returns_the_first_record()
    {
        var bytes = TestAssemblies.Demo(1);
        var first = await Code.PostAsync(bytes, "first", cancellationToken: Ct);
        var again = await Code.PostAsync(bytes, "second", new string('d', 40), Ct);
        Assert.Equal(first, again);
        Assert.Single(await Code.ListAsync(cancellationToken: Ct), e => e.Hash == first.Hash);
        Assert.Equal(first, await Code.GetAsync(first.Hash, Ct));
    }

    [Fact]
    public async Task A_posted_file_records_the_commit_of_its_git_repository()
    {
        var repository = Directory.CreateTempSubdirectory("oj-posted-code-");
        var outside = Directory.CreateTempSubdirectory("oj-posted-code-");
        try
        {
            await GitAsync(repository.FullName, "init", "-q");
            await GitAsync(repository.FullName, "-c", "user.name=test", "-c", "user.email=test@example.org", "commit", "-q", "--allow-empty", "-m", "posted code");
            var head = (await GitAsync(repository.FullName, "rev-parse", "HEAD")).Trim();
            var path = Path.Combine(repository.FullName, "Demo.dll");
            await File.WriteAllBytesAsync(path, TestAssemblies.Demo(1), Ct);

            var posted = await Code.PostFileAsync(path, "from a repository", cancellationToken: Ct);
            Assert.Equal(head, posted.GitCommit);
            Assert.Null(await PostedCode.FindGitCommitAsync(outside.FullName, Ct));
            await Assert.ThrowsAsync<DirectoryNotFoundException>(() => PostedCode.FindGitCommitAsync(Path.Combine(outside.FullName, "missing"), Ct));
        }
        finally
        {
            repository.Delete(recursive: true);
            outside.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Without_the_cluster_key_nothing_is_posted_fetched_or_removed()
    {
        var bytes = TestAssemblies.Demo(1);
        var hash = PostedCodeRules.HashOf(bytes);
        var client = fixture.Cluster.Client;
        var wrong = await Assert.ThrowsAsync<UnauthorizedAccessException>(() => new PostedCode(client, "not-the-key").PostAsync(bytes, "demo", cancellationToken: Ct));
        Assert.Contains("needs an admin key (the silos' Gateway:ClusterKey or a Gateway:Keys entry with Role admin), and the key sent is wrong", wrong.Message);
        var missing = await Assert.ThrowsAsync<UnauthorizedAccessException>(() => new PostedCode(client, "").PostAsync(bytes, "demo", cancellationToken: Ct));
        Assert.Contains("the key sent is missing", missing.Message);
        Assert.Null(await Code.GetAsync(hash, Ct));
        Assert.DoesNotContain(await Code.ListAsync(includeRemoved: true, Ct), e => e.Hash == hash);

        var posted = await Code.PostAsync(bytes, "demo", cancellationToken: Ct);
        await Assert.ThrowsAsync<UnauthorizedAccessException>(() => client.GetGrain<IPostedCodeGrain>(hash).GetAssemblyAsync("not-the-key"));
        await Assert.ThrowsAsync<UnauthorizedAccessException>(() => new PostedCode(client, "not-the-key").RemoveAsync(hash, Ct));
        await Assert.ThrowsAsync<UnauthorizedAccessException>(() => client.GetGrain<IPostedCodeCatalogGrain>(0).RecordAsync("not-the-key", posted with { Hash = new string('0', 64) }));
        Assert.Equal(posted, await Code.GetAsync(hash, Ct));
    }

    [Fact]
    public async Task Bad_posts_are_refused_naming_the_problem_and_store_nothing()
    {
        var version = fixture.Cluster.Client.GetGrain<IPostedCodeGrain>(PostedCodeRules.HashOf("not an assembly"u8));
        async Task RefusedAsync(byte[] assembly, string description, string? commit, string message, IPostedCodeGrain? grain = null, byte[]? symbols = null)
        {
            // Straight to the grain, past the client's own checks: the silo refuses on its own.
            var target = grain ?? fixture.Cluster.Client.GetGrain<IPostedCodeGrain>(PostedCodeRules.HashOf(assembly));
            var refused = await Assert.ThrowsAsync<ArgumentException>(() => target.PostAsync(PostedCodeCluster.ClusterKey, new PostedCodeUpload(assembly, description, commit, symbols)));
            Assert.Contains(message, refused.Message);
            Assert.Null(await target.GetInfoAsync());
            Assert.Null(await target.GetAssemblyAsync(PostedCodeCluster.ClusterKey));
        }

        await RefusedAsync("not an assembly"u8.ToArray(), "garbage", null, "not a .NET assembly");
        await RefusedAsync([], "empty", null, "The assembly is empty");
        await RefusedAsync(new byte[PostedCodeRules.MaxAssemblyBytes + 1], "huge", null, "limit is 16777216 (16 MiB)");
        await RefusedAsync(TestAssemblies.Demo(1), new string('d', PostedCodeRules.MaxDescriptionLength + 1), null, "The description is 1001 characters; the limit is 1000");
        await RefusedAsync(TestAssemblies.Demo(1), " ", null, "The description is empty");
        await RefusedAsync(TestAssemblies.Demo(1), "short commit", "abc123", "Git commit 'abc123' is invalid");
        await RefusedAsync(TestAssemblies.Demo(1), "under another hash", null, "post code under its own hash", version);
        var (withSymbols, _) = TestAssemblies.CompileWithSymbols(TestAssemblies.FailingSource(), "/src/Failing.cs", DebugInformationFormat.PortablePdb, embedSource: false);
        var (_, anotherBuilds) = TestAssemblies.CompileWithSymbols(TestAssemblies.FailingSource(), "/src/Failing.cs", DebugInformationFormat.PortablePdb, embedSource: false);
        await RefusedAsync(withSymbols, "random symbols", null, "The symbols are not a portable PDB", symbols: RandomNumberGenerator.GetBytes(4096));
        await RefusedAsync(withSymbols, "another build's symbols", null, "The symbols belong to another build", symbols: anotherBuilds);
        await RefusedAsync(TestAssemblies.Demo(1), "symbols of a build without any", null, "no CodeView debug directory entry", symbols: anotherBuilds);

        // The client refuses before sending anything.
        Assert.Contains("not a .NET assembly", (await Assert.ThrowsAsync<ArgumentException>(() => Code.PostAsync("MZ garbage"u8.ToArray(), "garbage", cancellationToken: Ct))).Message);
        Assert.Contains("belong to another build", (await Assert.ThrowsAsync<ArgumentException>(() => Code.PostAsync(new PostedCodeUpload(withSymbols, "mismatch", Symbols: anotherBuilds), Ct))).Message);
        Assert.Contains("not a posted-code hash", (await Assert.ThrowsAsync<ArgumentException>(() => Code.RemoveAsync("HEAD", Ct))).Message);
        Assert.Contains("not valid JSON", (await Assert.ThrowsAsync<ArgumentException>(() => Code.SendAsync(new string('0', 64), "Demo.Functions.Square", "{n: 1}"))).Message);
    }

    [Fact]
    public async Task A_posted_file_brings_its_PDB_and_the_silo_places_its_errors_by_line()
    {
        var directory = Directory.CreateTempSubdirectory("oj-posted-symbols-");
        try
        {
            var source = TestAssemblies.FailingSource();
            var (assembly, pdb) = TestAssemblies.CompileWithSymbols(source, "/nowhere/Failing.cs", DebugInformationFormat.PortablePdb, embedSource: true);
            var path = Path.Combine(directory.FullName, "Failing.dll");
            await File.WriteAllBytesAsync(path, assembly, Ct);
            await File.WriteAllBytesAsync(Path.Combine(directory.FullName, "Failing.pdb"), pdb!, Ct);

            var posted = await Code.PostFileAsync(path, "with symbols", cancellationToken: Ct);
            Assert.Equal(PostedCodeRules.HashOf(assembly), posted.Hash); // the assembly's hash alone
            var stored = await fixture.Cluster.Client.GetGrain<IPostedCodeGrain>(posted.Hash).GetAssemblyAsync(PostedCodeCluster.ClusterKey);
            Assert.Equal(assembly, stored!.Assembly);
            Assert.Equal(pdb, stored.Symbols);

            var call = new PostedFunctionCall(posted.Hash, "Failing.Functions.Throws");
            var refused = await Assert.ThrowsAsync<PostedCodeException>(() => Runner(fixture.Cluster.Silos[0]).RunAsync(call, cancellationToken: Ct));
            Assert.Equal(("Helper.Fail", TestAssemblies.LineOf(source, "helper")), (refused.Error!.Frame, (refused.Error.Line!.Value, refused.Error.Statement!)));
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [Theory]
    [InlineData("Demo.Nope.Run", "has no public type 'Demo.Nope'")]
    [InlineData("Demo.Functions.Nope", "has no public static method 'Nope'")]
    [InlineData("Demo.Functions.Numbers", "has an unsupported signature")]
    [InlineData("Demo.Functions.Throws", "threw System.InvalidOperationException: boom")]
    public async Task A_function_that_cannot_run_fails_its_job_with_the_reason_after_its_attempts(string function, string reason)
    {
        var posted = await Code.PostAsync(TestAssemblies.Demo(1), "demo", cancellationToken: Ct);
        var failed = await Assert.ThrowsAsync<PostedFunctionFailedException>(() => Code.RunAsync(posted.Hash, function, options: TwoAttempts, cancellationToken: Ct));
        Assert.StartsWith("PostedCodeException: ", failed.Error);
        Assert.Contains(reason, failed.Error);
        Assert.Contains("after 2 attempts", failed.Message);
    }

    [Fact]
    public async Task A_job_for_a_hash_nobody_posted_fails_with_the_reason()
    {
        var failed = await Assert.ThrowsAsync<PostedFunctionFailedException>(() => Code.RunAsync(new string('a', 64), "Demo.Functions.Square", options: TwoAttempts, cancellationToken: Ct));
        Assert.Contains($"No code is posted under hash {new string('a', 64)}", failed.Error);
    }

    [Fact]
    public async Task A_removed_version_finishes_its_running_job_refuses_new_ones_and_unloads()
    {
        var removedBytes = TestAssemblies.Demo(4);
        var posted = await Code.PostAsync(removedBytes, "to be removed", cancellationToken: Ct);
        var other = await Code.PostAsync(TestAssemblies.Demo(6), "stays", cancellationToken: Ct);
        Assert.Equal("294", await Code.RunAsync(other.Hash, "Demo.Functions.Square", """{"n": 7}""", cancellationToken: Ct));
        var (gateName, arrivedName) = ($"gate-{Guid.NewGuid():N}", $"arrived-{Guid.NewGuid():N}");
        var (gate, arrived) = (new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously), new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        AppDomain.CurrentDomain.SetData(gateName, gate);
        AppDomain.CurrentDomain.SetData(arrivedName, arrived);
        try
        {
            var running = await Code.SendAsync(posted.Hash, "Demo.Functions.Gate", $$"""{"gate": "{{gateName}}", "arrived": "{{arrivedName}}"}""");
            var queue = fixture.Cluster.Client.GetGrain<IQueueGrain>(PostedCodeRules.Queue);
            await Eventually.WithinAsync(arrived.Task.ContinueWith(_ => true, TaskScheduler.Default), "the gated job to start");
            var contexts = WatchLoadContexts(posted.Hash);
            Assert.NotEmpty(contexts);

            Assert.True(await Code.RemoveAsync(posted.Hash, Ct));
            Assert.False(await Code.RemoveAsync(posted.Hash, Ct));
            var refused = await Assert.ThrowsAsync<PostedFunctionFailedException>(() => Code.RunAsync(posted.Hash, "Demo.Functions.Square", """{"n": 7}""", TwoAttempts, cancellationToken: Ct));
            Assert.Contains($"Posted code {posted.Hash} ('to be removed') was removed at", refused.Error);
            Assert.Contains("new jobs for it are refused", refused.Error);

            TestAssemblies.CollectUnloaded();
            Assert.True(contexts.Any(c => c.IsAlive), "The version was unloaded while its job was running.");
            Assert.Equal(JobState.Running, (await queue.GetJobAsync(running))!.State);
            gate.SetResult();
            Assert.Equal("passed v4", await Code.WaitForResultAsync(running, cancellationToken: Ct));
            await Eventually.TrueAsync(() => { TestAssemblies.CollectUnloaded(); return contexts.All(c => !c.IsAlive); }, "every silo to unload the removed version", TimeSpan.FromSeconds(60));
        }
        finally
        {
            AppDomain.CurrentDomain.SetData(gateName, null);
            AppDomain.CurrentDomain.SetData(arrivedName, null);
        }

        Assert.All(fixture.Cluster.Silos, silo => Assert.DoesNotContain(posted.Hash, Runner(silo).Loaded));
        var listed = await Code.ListAsync(includeRemoved: true, Ct);
        Assert.NotNull(Assert.Single(listed, e => e.Hash == posted.Hash).RemovedAt);
        Assert.DoesNotContain(await Code.ListAsync(cancellationToken: Ct), e => e.Hash == posted.Hash);
        Assert.Equal("294", await Code.RunAsync(other.Hash, "Demo.Functions.Square", """{"n": 7}""", cancellationToken: Ct));

        // Posting the same bytes again brings the version back.
        var reposted = await Code.PostAsync(removedBytes, "back again", cancellationToken: Ct);
        Assert.Equal(posted.Hash, reposted.Hash);
        Assert.Null(reposted.RemovedAt);
        Assert.Equal("196", await Code.RunAsync(posted.Hash, "Demo.Functions.Square", """{"n": 7}""", cancellationToken: Ct));
    }

    [Fact]
    public async Task Gc_forgets_versions_removed_long_enough_ago_so_their_hash_reads_as_never_posted_and_never_touches_live_ones()
    {
        var client = fixture.Cluster.Client;
        var live = await Code.PostAsync(TestAssemblies.Demo(7), "live", cancellationToken: Ct);
        var removedBytes = TestAssemblies.Demo(8);
        var removed = await Code.PostAsync(removedBytes, "to be forgotten", cancellationToken: Ct);
        Assert.True(await Code.RemoveAsync(removed.Hash, Ct));

        // Removed just now: younger than an hour, so kept. A wrong key or a bad age changes nothing.
        Assert.DoesNotContain(removed.Hash, await Code.CollectGarbageAsync(TimeSpan.FromHours(1), Ct));
        await Assert.ThrowsAsync<UnauthorizedAccessException>(() => new PostedCode(client, "not-the-key").CollectGarbageAsync(TimeSpan.Zero, Ct));
        await Assert.ThrowsAsync<UnauthorizedAccessException>(() => client.GetGrain<IPostedCodeGrain>(removed.Hash).ForgetAsync("not-the-key", DateTimeOffset.MaxValue));
        var badAge = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => client.GetGrain<IPostedCodeCatalogGrain>(0).CollectAsync(PostedCodeCluster.ClusterKey, TimeSpan.FromSeconds(-1)));
        Assert.Contains("olderThan must be between", badAge.Message);
        Assert.NotNull((await Code.GetAsync(removed.Hash, Ct))?.RemovedAt);

        // A live version keeps its record whatever the age, even asked directly.
        Assert.False(await client.GetGrain<IPostedCodeGrain>(live.Hash).ForgetAsync(PostedCodeCluster.ClusterKey, DateTimeOffset.MaxValue));

        var forgotten = await Code.CollectGarbageAsync(TimeSpan.Zero, Ct);
        Assert.Contains(removed.Hash, forgotten);
        Assert.DoesNotContain(live.Hash, forgotten);
        Assert.Null(await Code.GetAsync(removed.Hash, Ct));
        Assert.DoesNotContain(await Code.ListAsync(includeRemoved: true, Ct), e => e.Hash == removed.Hash);
        Assert.Equal(live, await Code.GetAsync(live.Hash, Ct));
        Assert.Equal("28", await Code.RunAsync(live.Hash, "Demo.Functions.Square", """{"n": 2}""", cancellationToken: Ct));
        var unknown = await Assert.ThrowsAsync<PostedFunctionFailedException>(() => Code.RunAsync(removed.Hash, "Demo.Functions.Square", options: TwoAttempts, cancellationToken: Ct));
        Assert.Contains($"No code is posted under hash {removed.Hash}", unknown.Error);

        // Forgotten in storage too, not just in the activation: read back after every idle activation went.
        await client.GetGrain<IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero, Ct);
        Assert.Null(await Code.GetAsync(removed.Hash, Ct));
        Assert.DoesNotContain(removed.Hash, await Code.CollectGarbageAsync(TimeSpan.Zero, Ct));

        // The hash may be posted again: a new post, running as before.
        var again = await Code.PostAsync(removedBytes, "posted again", cancellationToken: Ct);
        Assert.Equal((removed.Hash, "posted again", (DateTimeOffset?)null), (again.Hash, again.Description, again.RemovedAt));
        Assert.Equal("72", await Code.RunAsync(again.Hash, "Demo.Functions.Square", """{"n": 3}""", cancellationToken: Ct));
        Assert.Contains(again, await Code.ListAsync(cancellationToken: Ct));
    }

    [Fact]
    public async Task Gc_racing_a_new_post_of_the_same_bytes_neither_waits_on_the_other_and_leaves_version_and_catalog_agreeing()
    {
        var bytes = TestAssemblies.Demo(9);
        var hash = PostedCodeRules.HashOf(bytes);
        for (var round = 0; round < 20; round++)
        {
            await Code.PostAsync(bytes, $"round {round}", cancellationToken: Ct);
            Assert.True(await Code.RemoveAsync(hash, Ct));

            // A post of removed bytes waits on the catalog while a collection waits on the version: bounded well
            // under Orleans' 30 s response timeout, so neither may be stuck behind the other.
            var race = Task.WhenAll(Code.CollectGarbageAsync(TimeSpan.Zero, Ct), Code.PostAsync(bytes, $"again {round}", cancellationToken: Ct));
            await race.WaitAsync(TimeSpan.FromSeconds(20), Ct);

            // Whichever ran first, the version is posted again (a post after a forget is a new post) and listed as such.
            var info = await Code.GetAsync(hash, Ct);
            Assert.Equal(($"again {round}", (DateTimeOffset?)null), (info?.Description, info?.RemovedAt));
            Assert.Equal(info, Assert.Single(await Code.ListAsync(includeRemoved: true, Ct), e => e.Hash == hash));
        }
    }

    private async Task<IReadOnlyList<string?>> RunManyAsync(string hash, string function, int count)
    {
        var jobs = new List<long>();
        for (var i = 0; i < count; i++) jobs.Add(await Code.SendAsync(hash, function));
        var results = new List<string?>();
        foreach (var job in jobs) results.Add(await Code.WaitForResultAsync(job, cancellationToken: Ct));
        return results;
    }

    /// <summary>Weak references to the version's load context on every silo that loaded it; no strong reference stays on this frame.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private List<WeakReference> WatchLoadContexts(string hash) =>
        [.. fixture.Cluster.Silos.Select(silo => Runner(silo).WatchLoadContext(hash)).OfType<WeakReference>()];

    private static async Task<string> GitAsync(string directory, params string[] arguments)
    {
        using var git = Process.Start(new ProcessStartInfo("git", arguments) { WorkingDirectory = directory, RedirectStandardOutput = true, RedirectStandardError = true })!;
        var output = await git.StandardOutput.ReadToEndAsync(Ct);
        await git.WaitForExitAsync(Ct);
        Assert.True(git.ExitCode == 0, $"git {string.Join(' ', arguments)} failed: {await git.StandardError.ReadToEndAsync(Ct)}");
        return output;
    }
}
