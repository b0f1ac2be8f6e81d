using System.Reflection;
using System.Text;
using Orleans.Jobs.Silo.Hosting;

namespace Orleans.Jobs.Benchmarks;

/// <summary>The scaling section of docs/benchmarks.md: how cost grows with silos, clients and a backlog (issue 12).</summary>
public static partial class BenchmarkReport
{
    /// <summary>The page's region that a run of only the scaling section rewrites.</summary>
    public const string ScalingRegion = "scaling";

    /// <summary>The idle silo's goal: resident memory at most this many bytes (100 MB).</summary>
    public const long IdleRssGoalBytes = 100_000_000;

    private const string IdleTarget = "a silo's idle resident memory at most 100 MB";
    private const string BacklogTarget = "a silo's resident memory flat under a backlog";
    private const string TargetsHeading = "## Against the team's targets";

    /// <summary>pgbench by hand (insert into a one-index table; then the same with <c>pg_notify</c> in its transaction): tps at 8 clients / at 1.</summary>
    private const double PgbenchPlainInsertGrowth = 970.0 / 164, PgbenchNotifyInsertGrowth = 232.0 / 103;

    /// <summary>The sends table before sends were written together (one transaction and NOTIFY per send), and the builds alternated by hand.</summary>
    private const string SendsBeforeCoalescing = "100, 106 and 101 jobs/s from 1, 4 and 16 clients",
        SendsAlternatedRuns = "2026-12-02 10:49-10:56 UTC, `OJ_BENCH_SCALING_PARTS=sends`, two rounds, old first, load 13-60",
        SendsAlternated = "old 60, 128, 99 and 164, 314, 197 jobs/s; new 109, 215, 201 and 271, 287, 218 jobs/s from 1, 4 and 16 clients";

    /// <summary>Each part's table opens with a heading that starts so; a part's text runs to the next such heading.</summary>
    private static readonly (string Part, string Heading)[] ScalingPartHeadings =
    [
        (ScalingBenchmark.BurndownsPart, "### Burn-down:"),
        (ScalingBenchmark.SendsPart, "### Sends through the queue grain"),
        (ScalingBenchmark.BacklogPart, "### One silo's resident memory"),
    ];

    /// <summary>
    /// The scaling section: all of it from this run when it measured every part, else <paramref name="lastSection"/> with
    /// only the measured parts' text put in (so a run of the sends alone leaves the burn-downs and the backlog as they were).
    /// </summary>
    private static string ScalingKeepingUnmeasured(BenchmarkResults r, ScalingResults s, string? lastSection)
    {
        var measured = Scaling(r, s);
        if (lastSection is null || ScalingBenchmark.AllParts.All(s.Parts.Contains)) return measured;
        var section = lastSection;
        foreach (var (part, heading) in ScalingPartHeadings.Where(p => s.Parts.Contains(p.Part)))
        {
            if (PartText(measured, heading) is not { } fresh) continue;
            section = PartText(section, heading) is { } old ? section.Replace(old, fresh, StringComparison.Ordinal) : section.TrimEnd() + "\n\n" + fresh;
        }

        return section;
    }

    /// <summary>The text of a part in a section: from its heading up to the next part's heading, or the end.</summary>
    private static string? PartText(string section, string heading)
    {
        var start = section.IndexOf(heading, StringComparison.Ordinal);
        if (start < 0) return null;
        var next = ScalingPartHeadings.Select(p => section.IndexOf(p.Heading, start + heading.Length, StringComparison.Ordinal)).Where(i => i >= 0).DefaultIfEmpty(section.Length).Min();
        return section[start..next];
    }

    private static string Scaling(BenchmarkResults r, ScalingResults s)
    {
        var md = new StringBuilder();
        WriteRegionHeading(md, r, "How cost grows: silo processes, client processes, a backlog", ScalingRegion, s.LoadAtStart, s.LoadAtEnd);
        md.AppendLine($"**This machine has {r.Environment.Cores} cores**, shared with PostgreSQL and with other work (the one-minute load average is next");
        md.AppendLine("to each figure). More silo processes or more clients share those cores, so nothing here can scale linearly: the ratios");
        md.AppendLine("say what more processes on the same cores give, not what more machines would. Every silo is tests/ClusterProcess");
        md.AppendLine("`silo --noop`: the stock host (`SiloHost`, job store, Orleans membership, grain state and reminders on the benchmark's");
        md.AppendLine("PostgreSQL) at default settings with a handler that does nothing, run on the stock silo's runtimeconfig.json (its GC");
        md.AppendLine("settings, not the test program's); until a `GO` line reaches it, its workers hold the jobs they claimed.");
        md.AppendLine();
        md.AppendLine("| target | measured | ratio | met |"); // the rows carry the ratio column of the targets table above
        md.AppendLine("|---|---|---|---|");
        foreach (var row in ScalingTargetRows(s)) md.AppendLine(row);
        md.AppendLine();

        WriteSiloBurndowns(md, s.Burndowns);
        WriteClientSends(md, s.Sends, ScalingBenchmark.AllParts.All(s.Parts.Contains) ? null : $"{r.Environment.Date}, with OJ_BENCH_SCALING_PARTS={string.Join(",", s.Parts)}");
        if (s.Backlog is { } backlog) WriteBacklogMemory(md, backlog, s.EmptySilo);
        if (s.Parts.Contains(ScalingBenchmark.BacklogPart)) WriteIdleMemoryNotes(md, s.Backlog, s.EmptySilo);

        if (s.Errors.Count > 0)
        {
            md.AppendLine("Parts that produced no figure (and why):");
            md.AppendLine();
            foreach (var error in s.Errors) md.AppendLine($"- {error}");
        }

        return md.ToString();
    }

    /// <summary>The section's rows of a targets table: the idle silo's memory and its memory under the backlog.</summary>
    private static IEnumerable<string> ScalingTargetRows(ScalingResults s)
    {
        if (s.Backlog is not { } b) yield break;
        var idle = b.IdleRssKb * 1024L;
        var floor = s.EmptySilo is { IdleRssKb: > 0 } empty ? $"; an Orleans silo with nothing of ours {Mib(empty.IdleRssKb)} MiB ({empty.IdleRssKb * 1024L / 1e6:0} MB) in the same run" : "";
        yield return $"| {IdleTarget} | {Mib(b.IdleRssKb)} MiB ({idle / 1e6:0} MB){(b.IdleSettled ? "" : ", not settled")}, load {Load(b.LoadAtStart)}{floor} | **{(double)idle / IdleRssGoalBytes:0.00}x** (target at most 1.00x) | {(idle <= IdleRssGoalBytes ? "yes" : "no")} |";
        if (b.Jobs == 0) yield break; // an idle-only run (OJ_BENCH_BACKLOG_JOBS=0)
        var flatness = BacklogFlatness(b);
        var measured = double.IsNaN(flatness)
            ? "no figure"
            : $"{b.Jobs:N0} jobs: peak {Mib(BacklogPeakAfterWarmUp(b))} MiB = {flatness:0.00}x the {Mib(BacklogAtAdded(b, Points[0])!.RssKb)} MiB at 10% added (flat: at most {FlatFactor}x){(b.Error is null ? "" : ", until it stopped")}";
        var ratio = double.IsNaN(flatness) ? "-" : $"**{flatness:0.00}x** (target at most {FlatFactor}x)";
        yield return $"| {BacklogTarget} | {measured} | {ratio} | {(flatness <= FlatFactor && b.Error is null ? "yes" : "no")} |";
    }

    /// <summary>
    /// <paramref name="page"/> with the scaling rows of its targets table put in (replacing any there): this run's when
    /// it measured them (the backlog part), else those of <paramref name="lastPage"/>, so a run that leaves the section out keeps them.
    /// </summary>
    private static string PutScalingTargets(string page, BenchmarkResults r, string? lastPage)
    {
        var lines = page.Split('\n').ToList();
        if (TargetsTable(lines) is not { } table) return page;
        var lastLines = lastPage?.Split('\n').ToList() ?? [];
        var rows = r.Scaling is { Backlog: not null } s ? ScalingTargetRows(s).ToList()
            : TargetsTable(lastLines) is { } last ? lastLines[last.Start..last.End].Where(IsScalingTarget).ToList()
            : [];
        var kept = lines[table.Start..table.End].Where(line => !IsScalingTarget(line)).Concat(rows);
        return string.Join('\n', lines[..table.Start].Concat(kept).Concat(lines[table.End..]));
    }

    private static bool IsScalingTarget(string line) => line.StartsWith($"| {IdleTarget} |", StringComparison.Ordinal) || line.StartsWith($"| {BacklogTarget} |", StringComparison.Ordinal);

    /// <summary>The lines of the page's targets table (from its header row up to the line after its last row); null when it has none.</summary>
    private static (int Start, int End)? TargetsTable(List<string> lines)
    {
        var heading = lines.IndexOf(TargetsHeading);
        var start = heading < 0 ? -1 : lines.FindIndex(heading, line => line.StartsWith('|'));
        if (start < 0) return null;
        var end = lines.FindIndex(start, line => !line.StartsWith('|'));
        return (start, end < 0 ? lines.Count : end);
    }

    private static void WriteSiloBurndowns(StringBuilder md, IReadOnlyList<SiloBurndown> runs)
    {
        if (runs.Count == 0) return;
        WriteGrowthTable(md, $"Burn-down: {runs[0].Jobs:N0} no-op jobs on {string.Join(", ", runs.Select(x => x.Count))} silo processes, one PostgreSQL",
            "silo processes", "1 silo", runs, ["workers in all", "seconds"], x => [$"{x.Workers}", $"{x.Seconds:0.00}"]);
        md.AppendLine("The jobs are inserted in batches of 1,000 and analyzed before any silo starts. The silos start one after another, each");
        md.AppendLine("at default settings (`Workers:MaxConcurrency` 16, no prefetch), so the workers grow with the silos; once all are up they");
        md.AppendLine("get `GO` together. Timed from the `GO` until the last job's completion is recorded (the store's clock); the silos' start");
        md.AppendLine("is left out, as in the burn-down above. The silos and PostgreSQL compete for the same two cores, and the load from other");
        md.AppendLine("work moved between the runs (the last column), so the ratios are this run's, not a trend.");
        md.AppendLine();
    }

    /// <param name="measuredApart">When and how this table was measured, if in a run of only some parts (else the section's heading says).</param>
    private static void WriteClientSends(StringBuilder md, IReadOnlyList<ClientSends> runs, string? measuredApart)
    {
        if (runs.Count == 0) return;
        WriteGrowthTable(md, $"Sends through the queue grain from {string.Join(", ", runs.Select(x => x.Count))} client processes",
            "client processes", "1 client", runs, ["jobs sent", "jobs/s per client", "statements running (mean)", "of them waiting on the NOTIFY lock"],
            x => [$"{x.Sent:N0}", $"{x.JobsPerSecond / x.Count:N0}", $"{x.ActiveBackends:0.0}", $"{x.NotifyLockWaits:0.0}"]);
        if (measuredApart is not null) md.AppendLine($"This table was measured on its own ({measuredApart}); the rest of the section comes from the run its heading names.");
        md.AppendLine($"Each client is a process of its own (tests/ClusterProcess `send-bench`: an Orleans client with its own gateway connection");
        md.AppendLine($"to the one silo) that sends one job per call with `IQueueGrain.SendAsync` and awaits it before the next, for {runs[0].Seconds:0} s after a");
        md.AppendLine("`GO` that all clients get together (one uncounted send first connects it and activates the queue grain). Each send is");
        md.AppendLine("checked on the silo's data plane, then written together with the sends that reached the silo while its last write");
        md.AppendLine("was under way (`SendCoalescer`, src/Grains/Queues: no timer, so an idle silo writes a send at once; at most 10,000 jobs");
        md.AppendLine("a write): one transaction, one insert and one `pg_notify` per queue. The silo's workers are held, so the figure is the");
        md.AppendLine("send path alone. jobs/s adds up each client's sent / its seconds. The client processes share the cores with the silo");
        md.AppendLine("and PostgreSQL. Every 100 ms the benchmark reads `pg_stat_activity`: the statements running in the database and those");
        md.AppendLine("waiting on a lock of a database object (`Lock: object`), which is the lock a transaction that ran NOTIFY takes at");
        md.AppendLine("commit and holds until its commit is on disk (PostgreSQL queues notifications in commit order), so such transactions");
        md.AppendLine("commit one at a time, each waiting for its own WAL flush. A plain insert's commits share flushes instead: pgbench on");
        md.AppendLine($"this server, 8 clients against 1, gave {PgbenchPlainInsertGrowth:0.0}x the inserts per second, but only {PgbenchNotifyInsertGrowth:0.0}x for an insert and a");
        md.AppendLine("`pg_notify` in one transaction (2026-12-02, load 33).");
        md.AppendLine();
        md.AppendLine($"That lock was the cause of the flat rates before sends were written together, when each send was a transaction of its");
        md.AppendLine($"own with its own NOTIFY: {SendsBeforeCoalescing} (2026-12-02 08:16 UTC, load 29-67), and with 16 clients 4.5 of the 5.4");
        md.AppendLine("statements running at a time waited on the lock, one commit and one flush at a time for the whole database. Now a silo");
        md.AppendLine("has one write in flight at a time, which carries every send that queued meanwhile, so its sends share each commit and");
        md.AppendLine($"its flush. The old and the new build, run in turn by hand ({SendsAlternatedRuns}): {SendsAlternated}.");
        md.AppendLine("So 1 client is faster, not slower, but 16 clients still give no more than 4 (the target was several times 1 client):");
        md.AppendLine("no send waits on the NOTIFY lock any more and the database runs under one statement at a time on average, so what bounds");
        md.AppendLine("the rate here is the two cores the 16 client processes share with the silo and PostgreSQL. A NOTIFY outside the");
        md.AppendLine("insert's transaction was not done: no send waits on the lock, and it would cost every write a second round trip.");
        if (runs.MaxBy(x => x.Count) is { ActiveBackends: > 0 } most && most.NotifyLockWaits >= most.ActiveBackends / 2)
            md.AppendLine($"In this run, though, {most.NotifyLockWaits:0.0} of the {most.ActiveBackends:0.0} statements running with {most.Count} clients waited on that lock: other work on the database notified too.");
        md.AppendLine();
    }

    private static void WriteBacklogMemory(StringBuilder md, BacklogMemory b, BacklogMemory? empty)
    {
        md.AppendLine(b.Jobs == 0 ? "### One silo's resident memory, idle" : $"### One silo's resident memory: idle, then a {b.Jobs:N0}-job backlog added, sitting and draining");
        md.AppendLine();
        md.AppendLine("| resident memory (VmRSS) | MiB | jobs added | jobs done |");
        md.AppendLine("|---|---|---|---|");
        md.AppendLine($"| idle, start-up settled ({(b.IdleSettled ? $"after {b.IdleSettleSeconds:0} s" : $"not settled within {b.IdleSettleSeconds:0} s")}) | {Mib(b.IdleRssKb)} | 0 | 0 |");
        md.AppendLine($"| of which anonymous (GC heap, native heaps, stacks) / mapped files / shared (compiled code, stubs) | {Mib(b.IdleAnonymousKb)} / {Mib(b.IdleFilesKb)} / {Mib(b.IdleSharedKb)} | | |");
        if (empty is { IdleRssKb: > 0 })
        {
            md.AppendLine($"| an Orleans silo with nothing of ours (tests/EmptySilo), idle ({(empty.IdleSettled ? $"after {empty.IdleSettleSeconds:0} s" : $"not settled within {empty.IdleSettleSeconds:0} s")}) | {Mib(empty.IdleRssKb)} | | |");
            md.AppendLine($"| of which anonymous / mapped files / shared | {Mib(empty.IdleAnonymousKb)} / {Mib(empty.IdleFilesKb)} / {Mib(empty.IdleSharedKb)} | | |");
            md.AppendLine($"| this silo idle / the empty Orleans silo | {(double)b.IdleRssKb / empty.IdleRssKb:0.00}x | | |");
        }

        if (b.Jobs == 0)
        {
            md.AppendLine();
            WriteIdleDefinition(md);
            md.AppendLine();
            return;
        }

        foreach (var (label, at) in new (string, Func<BacklogMemory, int, BacklogSample?>)[] { ("added", BacklogAtAdded), ("done", BacklogAtDone) })
        {
            foreach (var point in Points)
                md.AppendLine(at(b, point) is { } x ? $"| {point}% of jobs {label} | {Mib(x.RssKb)} | {x.Added:N0} | {x.Done:N0} |" : $"| {point}% of jobs {label} | - | - | - |");
        }

        md.AppendLine($"| peak from 10% added on (sampled) | {Mib(BacklogPeakAfterWarmUp(b))} | | |");
        md.AppendLine($"| peak / at 10% added | {BacklogFlatness(b):0.00}x | | |");
        md.AppendLine($"| peak of the process's life (VmHWM) | {Mib(b.Samples.Count == 0 ? b.PeakKb : Math.Max(b.PeakKb, b.Samples.Max(x => x.RssKb)))} | | |");
        md.AppendLine();
        if (b.Error is null)
        {
            md.AppendLine($"Added in {b.AddSeconds:0} s ({b.Jobs / b.AddSeconds:N0} jobs/s, by the benchmark straight into the store in batches of 1,000, the silo's");
            md.AppendLine($"workers held), then drained in {b.DrainSeconds:0} s ({b.Jobs / b.DrainSeconds:N0} jobs/s) by the one silo's 16 workers; {b.Samples.Count} samples,");
            md.AppendLine($"one every {b.SampleSeconds:0} s; load average {Load(b.LoadAtStart)} at the start, {Load(b.LoadAtEnd)} at the end.");
        }
        else
        {
            md.AppendLine($"The run {b.Error}.");
        }

        WriteIdleDefinition(md);
        md.AppendLine($"**Flat** means: the highest sample from 10% added on is at most {FlatFactor}x the sample at 10% added.");
        md.AppendLine("Done counts come from the archive's highest id (jobs are claimed in id order), so they may run ahead by the 16 jobs in");
        md.AppendLine("flight; every job is counted complete at the end. Each point of the table is the first sample at or past it.");
        md.AppendLine();
    }

    private static void WriteIdleDefinition(StringBuilder md)
    {
        md.AppendLine($"Idle means: from READY, sampled every second until the last {ScalingBenchmark.SettleWindow} samples lie within {ScalingBenchmark.SettleSpread:0%} of each other; the");
        md.AppendLine("figure is their median.");
    }

    /// <summary>Where an idle silo's memory goes and what was changed because of it (measured by hand, with dotnet-counters and dotnet-gcdump).</summary>
    private static void WriteIdleMemoryNotes(StringBuilder md, BacklogMemory? b, BacklogMemory? empty)
    {
        md.AppendLine("Why an idle silo holds what it holds (2026-12-02, measured by hand on this machine at load 23-50: the stock silo");
        md.AppendLine("`--serve --skip-sample` on PostgreSQL and this section's silo; `dotnet-counters`, `dotnet-gcdump`, `/proc/<pid>/smaps`):");
        md.AppendLine();
        md.AppendLine("- **before: 150 MiB** (151 MiB for this section's silo), of which 71 MiB mapped files (the runtime; `System.Private.CoreLib`");
        md.AppendLine("  alone 13 MiB; ASP.NET Core, Orleans, Npgsql: pages shared with every .NET process on the machine), 32 MiB shared memory");
        md.AppendLine("  (the code the JIT compiled, about 17,400 methods, and the runtime's stubs, mapped through a memfd for W^X) and 47 MiB");
        md.AppendLine("  anonymous, of which the GC heap had committed 22 MiB;");
        md.AppendLine("- 18 MiB of that heap was one object: Orleans' grain directory cache, a `ConcurrentDictionary` made with room for");
        md.AppendLine("  `GrainDirectoryOptions.CacheSize` entries, 1,000,000 by default, on the large object heap from the start. `AddOrleansJobs`");
        md.AppendLine($"  now sets it to {OrleansJobsSiloBuilderExtensions.DirectoryCacheSize:N0} unless the host sets it (a silo that calls more remote grains than that looks the");
        md.AppendLine("  rest up again in the directory): **after: 138 MiB** for this section's silo, started side by side with the old build");
        md.AppendLine("  (151 MiB), and 134-137 MiB for the stock silo; the GC heap commits 8 MiB. The idle row above is this run's figure.");
        md.AppendLine("  Throughput is not touched: these workloads call a handful of remote grains, far under either size;");
        md.AppendLine("- tried, without moving the idle figure by more than 3 MiB: workstation instead of server GC (server GC's dynamic");
        md.AppendLine("  adaptation, DATAS, already keeps the heap small), non-concurrent GC, a 4 MiB gen0 budget, tiered PGO off, tiered");
        md.AppendLine("  compilation off, W^X off (the shared memory becomes anonymous memory of the same size), the DI container's IL emit");
        md.AppendLine("  off, `MALLOC_ARENA_MAX=2`. So the GC settings stay as they are (server GC, the Web SDK's default);");
        md.AppendLine("- tried again (2026-12-02 10:20-11:00, load 2-40, each against a plain run side by side, `/proc/<pid>/smaps` per mapping),");
        md.AppendLine("  none moving the figure by more than the 2-5 MiB two plain runs differ by: workstation non-concurrent GC, a 4 GiB GC");
        md.AppendLine("  region range (smaller GC bookkeeping), the two together, tiered compilation off, the minimal-API request delegate");
        md.AppendLine("  generator (the gateway's three endpoints compiled ahead, not from expression trees), grain state in memory instead of");
        md.AppendLine("  ADO.NET (no Newtonsoft.Json, no System.Private.Xml). ReadyToRun (`dotnet publish -r linux-x64 -p:PublishReadyToRun=true`,");
        md.AppendLine("  Orleans, Npgsql and ours compiled ahead) made it **worse**: 145 MiB against 137, as 5 MiB less JIT-compiled code");
        md.AppendLine("  cost 14 MiB more of mapped files (the compiled images are larger and more of each is touched);");
        md.AppendLine("- what the shared memory is: of its 32 MiB only 7 MiB is executable code; 25 MiB is the runtime's loader heaps (type");
        md.AppendLine("  and method descriptions, stubs), which grow with the types loaded, not with any setting: 119 assemblies, most of");
        md.AppendLine("  them Orleans (whose serializer registers every generated codec at start-up), ASP.NET Core and the framework;");
        md.AppendLine("- an idle silo also threw about 5 exceptions every 3 s, caught and never logged: its LISTEN connection's wait timed out");
        md.AppendLine("  every 3 s so it could ping, and Npgsql times a wait out by throwing (a cancelled socket read, then its NpgsqlExceptions).");
        md.AppendLine("  The listener now waits without a timeout and is pinged by a notification sent from the pool when quiet; `dotnet-counters`");
        md.AppendLine("  counts no exception in 20 s of an idle silo (found with tests/ClusterProcess's `OJ_FIRST_CHANCE_EXCEPTIONS=1`).");
        md.AppendLine();
        md.AppendLine("The rest is the runtime and the code of Orleans, ASP.NET Core (the HTTP gateway) and Npgsql, loaded and compiled; no");
        md.AppendLine("runtime setting tried comes near 100 MB (95 MiB), and ahead-of-time code makes it larger. The 100 MB goal would take");
        md.AppendLine("loading less: Native AOT (which Orleans does not support) or a silo without some of its parts (the HTTP gateway).");
        if (b is not null && b.IdleRssKb * 1024L > IdleRssGoalBytes)
            md.AppendLine($"The goal is not met: {Mib(b.IdleRssKb)} MiB in this run.");
        if (empty is { IdleRssKb: > 0 })
        {
            md.AppendLine();
            md.AppendLine($"The floor, measured in the same run the same way: Orleans {OrleansVersion()}'s own silo with nothing of ours (tests/EmptySilo: localhost");
            md.AppendLine("clustering, no grains, no storage, no HTTP gateway, the stock silo's runtimeconfig.json) idles at");
            md.AppendLine($"{Mib(empty.IdleRssKb)} MiB ({empty.IdleRssKb * 1024L / 1e6:0} MB){(empty.IdleRssKb * 1024L > IdleRssGoalBytes ? ", itself over the 100 MB goal: no silo on Orleans meets it on this machine" : "")}.");
            if (b is { IdleRssKb: > 0 })
                md.AppendLine($"What Orleans.Jobs adds on top (its grains, store, workers, PostgreSQL clustering and the HTTP gateway) is {Mib(b.IdleRssKb - empty.IdleRssKb)} MiB.");
        }

        md.AppendLine();
    }

    /// <summary>The Orleans package's version (its informational version, without the commit it was built from).</summary>
    private static string OrleansVersion() =>
        typeof(Orleans.Runtime.SiloAddress).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split([' ', '+'])[0].TrimEnd('.') ?? "?";

    /// <summary>Runs at growing counts (of silos, of clients), each with its jobs/s, its ratio to the run of one, and the load around it.</summary>
    private static void WriteGrowthTable<T>(StringBuilder md, string heading, string counted, string one, IReadOnlyList<T> runs, string[] columns, Func<T, string[]> cells)
        where T : IScalingRun
    {
        var first = runs.FirstOrDefault(x => x.Count == 1);
        md.AppendLine($"### {heading}");
        md.AppendLine();
        md.AppendLine($"| {counted} | jobs/s | x {one} | {string.Join(" | ", columns)} | load (1 min) at start → end |");
        md.AppendLine($"|{string.Concat(Enumerable.Repeat("---|", columns.Length + 4))}");
        foreach (var x in runs)
            md.AppendLine($"| {x.Count} | {x.JobsPerSecond:N0} | {Ratio(x.JobsPerSecond, first?.JobsPerSecond)} | {string.Join(" | ", cells(x))} | {Load(x.LoadAtStart)} → {Load(x.LoadAtEnd)} |");
        md.AppendLine();
    }

    private static BacklogSample? BacklogAtAdded(BacklogMemory b, int percent) => b.Samples.FirstOrDefault(x => x.Added * 100 >= (long)b.Jobs * percent);

    private static BacklogSample? BacklogAtDone(BacklogMemory b, int percent) => b.Samples.FirstOrDefault(x => x.Done * 100 >= (long)b.Jobs * percent);

    /// <summary>The highest sample from the one at 10% added on (the silo's start-up before is left out).</summary>
    private static long BacklogPeakAfterWarmUp(BacklogMemory b) =>
        BacklogAtAdded(b, Points[0]) is { } warm ? b.Samples.SkipWhile(x => x != warm).Max(x => x.RssKb) : 0;

    private static double BacklogFlatness(BacklogMemory b) =>
        BacklogAtAdded(b, Points[0]) is { } warm ? (double)BacklogPeakAfterWarmUp(b) / Math.Max(1, warm.RssKb) : double.NaN;

    private static string Load(double? load) => load is { } l ? l.ToString("0.0") : "-";
}
