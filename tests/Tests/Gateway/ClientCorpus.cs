using Orleans.Jobs.Grains.Interfaces;

namespace Orleans.Jobs.Tests.Gateway;

/// <summary>
/// One grain call of the client corpus: refused with an <see cref="ArgumentException"/> whose message names
/// <see cref="Field"/> ('|'-separated names) and matches <see cref="Rule"/>, or — when <see cref="Field"/> is null — an
/// outcome whose JSON matches <see cref="Rule"/>.
/// </summary>
public sealed record ClientCase(string Name, Func<IGrainFactory, Seeded, Task<object?>> Call, string? Field, string Rule)
{
    /// <summary>True for a case a store could answer differently (NUL, names, tokens, states): these run on PostgreSQL too.</summary>
    public bool StoreSpecific => Name.Contains("NUL", StringComparison.Ordinal) || Name.StartsWith("U+0000", StringComparison.Ordinal)
        || Name.Contains("characters", StringComparison.Ordinal) || Name.Contains("token", StringComparison.Ordinal) || Name.StartsWith("requeue", StringComparison.Ordinal);

    public override string ToString() => Name;
}

/// <summary>The client corpus: the rules of the HTTP corpus, through an Orleans client's grain calls.</summary>
public static class ClientCorpus
{
    private const string Q = CorpusSilo.Queue;

    public static IReadOnlyDictionary<string, ClientCase> Cases { get; } = Build().ToDictionary(c => c.Name);

    public static TheoryData<string> Names() => [.. Cases.Keys];

    public static TheoryData<string> StoreSpecificNames() => [.. Cases.Values.Where(c => c.StoreSpecific).Select(c => c.Name)];

    private static IQueueGrain Queue(this IGrainFactory grains, string name = Q) => grains.GetGrain<IQueueGrain>(name);

    private static IRoutingTableGrain Routing(this IGrainFactory grains) => grains.GetGrain<IRoutingTableGrain>(RoutingTable.DefaultKey);

    private static ClientCase Refused(string name, Func<IGrainFactory, Seeded, Task> call, string field, string rule) =>
        new(name, async (grains, work) => { await call(grains, work); return null; }, field, rule);

    private static ClientCase Outcome<T>(string name, Func<IGrainFactory, Seeded, Task<T>> call, string rule) =>
        new(name, async (grains, work) => await call(grains, work), null, rule);

    private static IEnumerable<ClientCase> Build()
    {
        string name128 = new('q', 128), node128 = new('n', 128);
        foreach (var c in new[] { "\0", "\u0001", "\u007f", "\u009f" })
        {
            var shown = $"U+{(int)c[0]:X4}";
            yield return Refused($"{shown} in a claim's owner", (g, _) => g.Queue().ClaimAsync(new ClaimOptions { Owner = $"w{c}" }), "Owner", "control character");
            yield return Refused($"{shown} in a claim's node", (g, _) => g.Queue().ClaimAsync(new ClaimOptions { Owner = "w", Node = $"n{c}" }), "Node", "Node name");
            yield return Refused($"{shown} in a wait's owner", (g, _) => g.Queue().WaitAsync(TimeSpan.Zero, new ClaimOptions { Owner = $"{c}w" }), "Owner", "control character");
            yield return Refused($"{shown} in a queue name", (g, _) => g.Queue($"{Q}{c}").SendAsync("x"), "queue", "Queue name");
            yield return Refused($"{shown} in elevate's fromNode", (g, _) => g.Routing().ElevateAsync($"s{c}", Q, "x", CorpusSilo.Hub), "fromNode", "Node name");
        }

        yield return Refused("NUL in a payload", (g, _) => g.Queue().SendAsync("a\0b"), "payload", "NUL");
        yield return Refused("NUL in an expedited payload", (g, _) => g.Queue().ExpediteAsync("\0"), "payload", "NUL");
        yield return Refused("NUL in a batch's payload", (g, _) => g.Queue().SendBatchAsync([new JobMessage("ok"), new JobMessage("\0")]), "jobs[1]", "NUL");
        yield return Refused("NUL in an elevated payload", (g, _) => g.Routing().ElevateAsync("spoke-1", Q, "\0", CorpusSilo.Hub), "payload", "NUL");
        yield return Refused("NUL in a result", (g, w) => g.Queue().FinishAsync(w.Running, w.RunningToken, "\0"), "result", "NUL");

        yield return Outcome("a queue@node of 257 characters (the limit) is served", (g, _) => g.Queue($"{name128}@{node128}").GetCountsAsync(), "available");
        yield return Refused("a queue name of 129 characters", (g, _) => g.Queue(name128 + "q").SendAsync("x"), "queue", "1 to 128");
        yield return Refused("a node name of 129 characters", (g, _) => g.Queue($"{Q}@{node128}n").SendAsync("x"), "queue", "1 to 128");
        yield return Refused("an owner of 129 characters", (g, _) => g.Queue().ClaimAsync(new ClaimOptions { Owner = new string('o', 129) }), "Owner", "1 to 128");
        yield return Refused("a blank owner", (g, _) => g.Queue().ClaimAsync(new ClaimOptions { Owner = " " }), "Owner", "not blank");
        yield return Refused("a node of 129 characters", (g, _) => g.Queue().ClaimAsync(new ClaimOptions { Owner = "w", Node = node128 + "n" }), "Node", "1 to 128");
        yield return Refused("a payload of 1 MiB + 1 bytes", (g, _) => g.Queue().SendAsync(new string('p', 1024 * 1024 + 1)), "payload", "limit is 1048576");
        yield return Refused("a result of 1 MiB + 1 bytes", (g, w) => g.Queue().FinishAsync(w.Running, w.RunningToken, new string('r', 1024 * 1024 + 1)), "result", "limit is 1048576");
        yield return Refused("a batch of no jobs", (g, _) => g.Queue().SendBatchAsync([]), "jobs", "1 to 10000");
        yield return Refused("a batch of 10,001 jobs", (g, _) => g.Queue().SendBatchAsync([.. Enumerable.Repeat(new JobMessage("x"), 10_001)]), "jobs", "1 to 10000");
        yield return Refused("a purge of no ids", (g, _) => g.Queue().PurgeDeadLettersAsync([]), "jobIds", "1 to 10000");
        yield return Refused("a purge of 10,001 ids", (g, _) => g.Queue().PurgeDeadLettersAsync([.. Enumerable.Range(1, 10_001).Select(i => (long)i)]), "jobIds", "1 to 10000");
        yield return Refused("a dead-letter listing of 1,001", (g, _) => g.Queue().GetDeadLettersAsync(1001), "limit", "between 1 and 1000");
        yield return Refused("a dead-letter listing of 0", (g, _) => g.Queue().GetDeadLettersAsync(0), "limit", "between 1 and 1000");

        foreach (var priority in new[] { 1_000_001, -1_000_001, int.MaxValue, int.MinValue })
            yield return Refused($"priority {priority}", (g, _) => g.Queue().SendAsync("x", new SendOptions { Priority = priority }), "Priority", "between -1000000 and 1000000");
        foreach (var attempts in new[] { 0, 1001, -1 })
            yield return Refused($"a send's MaxAttempts {attempts}", (g, _) => g.Queue().SendAsync("x", new SendOptions { MaxAttempts = attempts }), "MaxAttempts", "between 1 and 1000");
        foreach (var delay in new[] { TimeSpan.FromSeconds(-1), TimeSpan.FromDays(366), TimeSpan.MinValue })
            yield return Refused($"a send's delay {delay}", (g, _) => g.Queue().SendAsync("x", new SendOptions { Delay = delay }), "Delay", "between 0 and");
        foreach (var maxJobs in new[] { 0, 1001, int.MinValue })
            yield return Refused($"a claim's MaxJobs {maxJobs}", (g, _) => g.Queue().ClaimAsync(new ClaimOptions { Owner = "w", MaxJobs = maxJobs }), "MaxJobs", "between 1 and 1000");
        foreach (var lease in new[] { TimeSpan.FromMilliseconds(50), TimeSpan.FromHours(25), TimeSpan.Zero })
            yield return Refused($"a claim's lease {lease}", (g, _) => g.Queue().ClaimAsync(new ClaimOptions { Owner = "w", LeaseDuration = lease }), "leaseDuration", "between");
        foreach (var timeout in new[] { TimeSpan.FromSeconds(-1), TimeSpan.FromMinutes(5) + TimeSpan.FromTicks(1) })
            yield return Refused($"a wait's timeout {timeout}", (g, _) => g.Queue().WaitAsync(timeout, new ClaimOptions { Owner = "w" }), "timeout", "between 0 and");
        foreach (var jobId in new[] { 0L, -1L, long.MinValue })
            yield return Refused($"finish job {jobId}", (g, w) => g.Queue().FinishAsync(jobId, w.RunningToken), "jobId", "positive");
        yield return Refused("a purge naming id 0", (g, w) => g.Queue().PurgeDeadLettersAsync([w.Dead, 0]), "jobIds", "positive");

        (string Name, QueueSettingsChanges Changes, string Field)[] settings =
        [
            ("MaxAttempts 0", new() { MaxAttempts = 0 }, "MaxAttempts"), ("MaxAttempts 1001", new() { MaxAttempts = 1001 }, "MaxAttempts"),
            ("LeaseDuration 50 ms", new() { LeaseDuration = TimeSpan.FromMilliseconds(50) }, "LeaseDuration"),
            ("RetryDelay -1 s", new() { RetryDelay = TimeSpan.FromSeconds(-1) }, "RetryDelay"),
            ("MaxRetryDelay below RetryDelay", new() { MaxRetryDelay = TimeSpan.FromSeconds(1) }, "MaxRetryDelay"),
            ("MonitorPeriod 500 ms", new() { MonitorPeriod = TimeSpan.FromMilliseconds(500) }, "MonitorPeriod"),
            ("CompletedRetention 3651 days", new() { CompletedRetention = TimeSpan.FromDays(3651) }, "CompletedRetention"),
            ("DeadLetterRetention -1 s", new() { DeadLetterRetention = TimeSpan.FromSeconds(-1) }, "DeadLetterRetention"),
            ("RetryPriorityDrop -1", new() { RetryPriorityDrop = -1 }, "RetryPriorityDrop"),
        ];
        foreach (var (name, changes, field) in settings)
            yield return Refused($"update-settings {name}", (g, _) => g.Queue().UpdateSettingsAsync(changes), field, "must be between");
        yield return Refused("configure MaxAttempts 0", (g, _) => g.Queue().ConfigureAsync(CorpusSilo.Settings with { MaxAttempts = 0 }), "MaxAttempts", "must be between");
        yield return Refused("configure a monitor period of 0", (g, _) => g.Queue().ConfigureAsync(CorpusSilo.Settings with { MonitorPeriod = TimeSpan.Zero }), "MonitorPeriod", "must be between");

        yield return Refused("a routing mode 7", (g, _) => g.Routing().ConfigureAsync(new RoutingTable { Mode = (RoutingMode)7 }), "Mode", "Mesh, SpokeAndWheel, Custom");
        yield return Refused("a spoke-and-wheel table without a hub", (g, _) => g.Routing().ConfigureAsync(new RoutingTable { Mode = RoutingMode.SpokeAndWheel }), "Hub", "needs a Hub");
        yield return Refused("links on a mesh", (g, _) => g.Routing().ConfigureAsync(new RoutingTable { Links = new Dictionary<string, string[]> { ["a"] = ["b"] } }), "Links", "only used by Custom");
        yield return Refused("a hub with NUL", (g, _) => g.Routing().ConfigureAsync(RoutingTable.SpokeAndWheel("h\0")), "Hub", "Node name");

        yield return Outcome("requeue an available job", (g, w) => g.Queue().RequeueDeadLetterAsync(w.Available), "NotDeadLettered");
        yield return Outcome("requeue the running job", (g, w) => g.Queue().RequeueDeadLetterAsync(w.Running), "NotDeadLettered");
        yield return Outcome("requeue a completed job", (g, w) => g.Queue().RequeueDeadLetterAsync(w.Completed), "NotDeadLettered");
        yield return Outcome("finish with a forged token", (g, w) => g.Queue().FinishAsync(w.Running, Guid.NewGuid()), "LeaseLost");
        yield return Outcome("finish a completed job with its old token", (g, w) => g.Queue().FinishAsync(w.Completed, w.CompletedToken), "Updated"); // idempotent settle
        // Over HTTP these are 404 and 409; a .NET caller gets the outcomes as results, as always.
        yield return Outcome("finish with a stale token after a reclaim", (g, w) => g.Queue().FinishAsync(w.Reclaimed, w.ReclaimedStaleToken), "LeaseLost");
        yield return Outcome("fail with a stale token after a reclaim", (g, w) => g.Queue().FailAsync(w.Reclaimed, w.ReclaimedStaleToken, "x"), "LeaseLost");
        yield return Outcome("renew with a stale token after a reclaim", (g, w) => g.Queue().RenewLeaseAsync(w.Reclaimed, w.ReclaimedStaleToken), "LeaseLost");
        yield return Outcome("release with a forged token", (g, w) => g.Queue().ReleaseAsync(w.Running, Guid.NewGuid()), "LeaseLost");
        yield return Outcome("release a job that does not exist (token)", (g, w) => g.Queue().ReleaseAsync(999_999_999, w.RunningToken), "NotFound");
        yield return Outcome("requeue a job that does not exist", (g, _) => g.Queue().RequeueDeadLetterAsync(999_999_999), "NotFound");
        yield return Outcome("requeue the reclaimed job", (g, w) => g.Queue().RequeueDeadLetterAsync(w.Reclaimed), "NotDeadLettered");
        yield return Refused("finish with the empty token", (g, w) => g.Queue().FinishAsync(w.Running, Guid.Empty), "leaseToken", "empty");
        yield return Refused("elevate to q@elsewhere", (g, _) => g.Routing().ElevateAsync("spoke-1", $"{Q}@elsewhere", "x", CorpusSilo.Hub), "queue", "without a node");
        yield return Refused("elevate from a spoke to a spoke", (g, _) => g.Routing().ElevateAsync("spoke-1", Q, "x", "spoke-2"), "toNode", "no such route");
        yield return Refused("claim a node-local queue from another node", (g, _) => g.Queue(CorpusSilo.LocalQueue).ClaimAsync(new ClaimOptions { Owner = "w", Node = "node-b" }), "Node", "local to node 'node-a'");
    }
}

/// <summary>One run of the <c>jobs</c> CLI in the corpus: its arguments, the exit code it must give and a pattern its stderr must match.</summary>
public sealed record CliCase(string[] Arguments, int ExitCode, string Rule);

/// <summary>The CLI corpus: bad arguments exit 2 naming the option and the rule; a job in the wrong state exits 1 saying so.</summary>
public static class CliCorpus
{
    private const string Q = CorpusSilo.Queue;

    public static IEnumerable<CliCase> Cases(Seeded work) =>
    [
        new(["dead-letters", "list", "bad/name"], 2, "Queue name 'bad/name' is invalid"),
        new(["dead-letters", "list", $"{Q}\u0001"], 2, "Queue name .* is invalid"),
        new(["dead-letters", "list", new string('q', 129)], 2, "Queue name .* is invalid: use 1 to 128"),
        new(["dead-letters", "list", $"{Q}@{new string('n', 129)}"], 2, "is invalid"),
        new(["dead-letters", "list", Q, "--limit", "0"], 2, "--limit must be between 1 and 1000"),
        new(["dead-letters", "list", Q, "--limit", "1001"], 2, "--limit must be between 1 and 1000"),
        new(["dead-letters", "list", Q, "--limit", "abc"], 2, "abc"),
        new(["dead-letters", "list", Q, "--limit", "2147483648"], 2, "2147483648"),
        new(["dead-letters", "requeue", Q, "0"], 2, "job-id must be between 1"),
        new(["dead-letters", "requeue", Q, "99999999999999999999"], 2, "99999999999999999999"),
        new(["dead-letters", "requeue", Q, "1.5"], 2, "1\\.5"),
        new(["dead-letters", "requeue", Q, $"{work.Available}"], 1, "is Available, not dead-lettered; nothing was requeued"),
        new(["dead-letters", "requeue", Q, $"{work.Running}"], 1, "is Running, not dead-lettered"),
        new(["dead-letters", "requeue", Q, "999999999"], 1, "has no job 999999999"),
        new(["unmonitored", "expire", Q], 2, "Option '--owner' is required"),
        new(["unmonitored", "expire", Q, "--owner", ""], 2, "--owner must be 1 to 128 characters and not blank"),
        new(["unmonitored", "expire", Q, "--owner", "seed\u0007"], 2, "--owner has control character U\\+0007"),
        new(["unmonitored", "expire", "bad/name", "--owner", "seed"], 2, "Queue name 'bad/name' is invalid"),
        new(["unmonitored", "list", $"{Q}@{new string('n', 129)}"], 2, "is invalid"),
        new(["dead-letters", "purge", Q], 2, "add --yes"),
        new(["dead-letters", "purge", Q, "--job-id", "0", "--yes"], 2, "positive"),
        new(["dead-letters", "purge", Q, "--job-id", "x", "--yes"], 2, "'x'"),
        new(["status", "--queue", "a b"], 2, "Queue name 'a b' is invalid"),
        new(["status", "--queue", $"{Q}\u007f"], 2, "Queue name .* is invalid"),
        new(["status", "--queue", Q, "--interval", "0"], 2, "--interval must be between"),
        new(["status", "--gateway", "nonsense"], 2, "--gateway 'nonsense' must be an IP address and port"),
        new(["status", "--connect-attempts", "0"], 2, "--connect-attempts must be between 1 and 100"),
        new(["status", "--queue", Q, "--ca-file", "/no/such/ca.pem"], 2, "--ca-file '/no/such/ca.pem' does not exist"),
        new(["status", "--queue", Q, "--ca-file", "/dev/null"], 2, "--ca-file trusts the silos' TLS certificate, and TLS also needs this client's own"),
        new(["status", "--cluster-key", "x"], 2, "cluster-key"),
        new(["jobz"], 2, "jobz"),
        new(["dead-letters", "list", Q, "--frobnicate"], 2, "--frobnicate"),
    ];
}
