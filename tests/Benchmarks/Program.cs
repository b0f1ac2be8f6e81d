using System.Globalization;
using System.Text.Json;
using Orleans.Jobs.Benchmarks;
using Orleans.Jobs.Benchmarks.Chaos;
using Orleans.Jobs.Benchmarks.Soak;

// dotnet tests/Benchmarks/bin/Release/net10.0/Orleans.Jobs.Benchmarks.dll <connection> <output-dir> [--quick] [--only a,b]
//   sections: ceilings, burndown, latency, recovery (ours), peers, pipelines, streams, history (default: these), and jobset (only when named:
//   its 1,000,000-job set takes most of an hour here). scripts/bench runs this and copies the report to docs/; a run of only the
//   pipelines, streams and/or jobset sections rewrite only their parts of the last docs/benchmarks.md, and a run that leaves one out keeps its part.
//   OJ_BENCH_JOBSET_JOBS: the jobset sizes, comma-separated (default 100000,1000000; with --quick 10000,100000);
//   OJ_BENCH_JOBSET_MINUTES: how long one jobset may run before it is stopped and reported as not done (default 120).
//   scaling (only when named: its 1,000,000-job backlog alone takes half an hour or more here): burn-downs on 1, 2 and 4 silo processes, sends
//   from 1, 4 and 16 client processes, a silo's memory idle and under a backlog. OJ_BENCH_SCALING_JOBS: the burn-downs' jobs (default
//   100000; --quick 20000); OJ_BENCH_BACKLOG_JOBS: the backlog (default 1000000; --quick 100000); OJ_BENCH_SEND_SECONDS (default 10);
//   OJ_BENCH_SCALING_PARTS: which parts run, comma-separated, of burndowns,sends,backlog (default all); a run of some parts
//   rewrites only their tables in the last page's scaling section.
//   --from-json <benchmarks.json>: measures nothing; writes the report again from the figures of an earlier run (its sections
//   named by --only), e.g. after a change to the report's wording.
if (args.FirstOrDefault() is "chaos" or "soak")
{
    // chaos|soak <postgres-connection> <postgres-port> <redis host:port> <redis-port> <output-dir> [--only fault,...] [--minutes N]:
    // scripts/chaos and scripts/soak.
    if (args.Length < 6)
    {
        Console.Error.WriteLine("usage: Orleans.Jobs.Benchmarks chaos|soak <postgres-connection> <postgres-port> <redis host:port> <redis-port> <output-dir> " +
                                $"[--only {string.Join(',', ChaosFaults.All.Select(f => f.Name))}] [--minutes 20]");
        return 2;
    }

    CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
    var servers = new ChaosServers(args[1], int.Parse(args[2]), args[3], int.Parse(args[4]));
    var runCommand = $"scripts/{args[0]}" + string.Concat(args.Skip(6).Select(a => " " + a));
    string? Option(string name) => Array.IndexOf(args, name) is var at and >= 0 && at + 1 < args.Length ? args[at + 1] : null;
    if (args[0] == "soak")
    {
        // --from-json <soak.json>: no run; the page again from a saved run's samples.
        var soak = Option("--from-json") is { } saved
            ? SoakRun.Analyse(JsonSerializer.Deserialize<SoakResults>(await File.ReadAllTextAsync(saved), new JsonSerializerOptions(JsonSerializerOptions.Web))!)
            : await SoakRun.RunAsync(servers, TimeSpan.FromMinutes(double.Parse(Option("--minutes") ?? "20")), runCommand, Console.Out);
        await SoakRun.WriteAsync(soak, args[5]);
        return soak.Lost == 0 && soak.Trends.All(t => t.Flat) ? 0 : 1;
    }

    var chaos = await ChaosRun.RunAsync(servers, Option("--only")?.Split(','), runCommand, Console.Out);
    await ChaosRun.WriteAsync(chaos, args[5]);
    return chaos.TotalLost == 0 ? 0 : 1;
}

if (args.Length < 2)
{
    Console.Error.WriteLine("usage: Orleans.Jobs.Benchmarks <connection> <output-dir> [--quick] [--only ceilings,burndown,latency,recovery,peers,pipelines,streams,history,jobset,scaling] [--from-json <benchmarks.json>]");
    return 2;
}

CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
var server = new BenchmarkDatabase(args[0]);
var output = args[1];
var quick = args.Contains("--quick");
var onlyIndex = Array.IndexOf(args, "--only");
var sections = onlyIndex >= 0 && onlyIndex + 1 < args.Length ? args[onlyIndex + 1].Split(',') : ["ceilings", "burndown", "latency", "recovery", "peers", "pipelines", "streams", "history"];
var command = "scripts/bench" + string.Concat(args.Skip(2).Select(a => " " + a));
Directory.CreateDirectory(output);
var json = new JsonSerializerOptions(JsonSerializerOptions.Web) { WriteIndented = true };
var log = Console.Out;
var fromJson = Array.IndexOf(args, "--from-json");
if (fromJson >= 0 && fromJson + 1 < args.Length)
{
    var saved = JsonSerializer.Deserialize<BenchmarkResults>(await File.ReadAllTextAsync(args[fromJson + 1]), json)
                ?? throw new InvalidOperationException($"{args[fromJson + 1]} holds no results.");
    await PublishAsync(saved);
    return 0;
}

const int Concurrency = 32;
const int WarmUpDrains = 6; // untimed burn-down drains before the timed ones (see the burndown section)
var burndownJobs = quick ? 20_000 : 100_000;
var latencyJobs = quick ? 200 : 1_000;
var pipelineCount = quick ? 500 : 2_000;
var streamForks = quick ? 2_000 : 10_000;
var jobSetSizes = (Environment.GetEnvironmentVariable("OJ_BENCH_JOBSET_JOBS") is { Length: > 0 } sizes ? sizes : quick ? "10000,100000" : "100000,1000000")
    .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(int.Parse).ToList();
var jobSetCap = TimeSpan.FromMinutes(int.TryParse(Environment.GetEnvironmentVariable("OJ_BENCH_JOBSET_MINUTES"), out var minutes) ? minutes : 120);
var recoveryCap = TimeSpan.FromSeconds(120);
var scalingJobs = int.TryParse(Environment.GetEnvironmentVariable("OJ_BENCH_SCALING_JOBS"), out var scaling) ? scaling : quick ? 20_000 : 100_000;
var backlogJobs = int.TryParse(Environment.GetEnvironmentVariable("OJ_BENCH_BACKLOG_JOBS"), out var backlog) ? backlog : quick ? 100_000 : 1_000_000;
var scalingParts = Environment.GetEnvironmentVariable("OJ_BENCH_SCALING_PARTS") is { Length: > 0 } named
    ? named.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
    : ScalingBenchmark.AllParts;
if (scalingParts.FirstOrDefault(p => !ScalingBenchmark.AllParts.Contains(p)) is { } unknownPart)
{
    Console.Error.WriteLine($"OJ_BENCH_SCALING_PARTS names '{unknownPart}'; it must list parts of {string.Join(",", ScalingBenchmark.AllParts)}.");
    return 2;
}
var sendFor = TimeSpan.FromSeconds(int.TryParse(Environment.GetEnvironmentVariable("OJ_BENCH_SEND_SECONDS"), out var sendSeconds) ? sendSeconds : 10);

var environment = await BenchmarkEnvironment.ReadAsync(server.ConnectionString);
log.WriteLine($"Benchmarks on {environment.Cpu} ({environment.Cores} cores), PostgreSQL {environment.PostgreSql}, {environment.DotNet}");
var results = new BenchmarkResults { Environment = environment, Command = command, BurndownJobs = burndownJobs, LatencyJobs = latencyJobs, Concurrency = Concurrency };

if (sections.Contains("ceilings"))
{
    log.WriteLine("Ceilings");
    var ceilings = new Ceilings(server, log);
    results.Ceilings.Add(await ceilings.PgbenchAsync(1, Concurrency, quick ? 5 : 10));
    results.Ceilings.Add(await ceilings.PgbenchAsync(100, Concurrency, quick ? 5 : 10));
    results.Ceilings.Add(await ceilings.ChannelsAsync(burndownJobs * 10, Concurrency));
    results.Ceilings.Add(await ceilings.InMemoryStoreAsync(burndownJobs, Concurrency));
    results.Ceilings.Add(await ceilings.InMemorySilosAsync(burndownJobs, Concurrency));
}

var ours = new OrleansJobsWorkloads(server, log);
if (sections.Contains("burndown"))
{
    // Untimed drains first, so neither timed run pays for this process's JIT (tiered compilation of the whole path): the
    // first drain in a process ran at about two thirds of the second's rate, and the runtime promotes hot methods only
    // once no new method has been compiled for a while, so after one warm-up drain the hot path was still recompiled
    // during the timed ones, at twice the CPU per job (docs/profiling.md items 16–17). Both settings take turns.
    for (var round = 1; round <= WarmUpDrains; round++)
    {
        var settings = round % 2 == 1 ? "default" : "fast";
        log.WriteLine($"  orleans-jobs warm-up drain {round} of {WarmUpDrains}: {burndownJobs / 10:N0} jobs, {settings} (not reported)");
        await OursAsync("burndown", "warm-up", () => ours.BurndownAsync(settings, burndownJobs / 10, Concurrency));
    }

    foreach (var settings in new[] { "default", "fast" })
        results.Workloads.Add(await OursAsync("burndown", settings, () => ours.BurndownAsync(settings, burndownJobs, Concurrency)));
}
if (sections.Contains("latency")) results.Workloads.Add(await OursAsync("latency", "default", () => ours.LatencyAsync(latencyJobs, Concurrency)));
if (sections.Contains("recovery"))
{
    foreach (var settings in new[] { "default", "fast" })
        results.Workloads.Add(await OursAsync("recovery", settings, () => ours.RecoveryAsync(settings, 20, recoveryCap)));
}

var peers = new PeerDrivers(Path.Combine(RepositoryRoot(), "tests", "Benchmarks", "peers"), server, log);
if (sections.Contains("peers"))
{
    log.WriteLine("Peers");
    foreach (var (system, _, _) in PeerDrivers.Systems)
    {
        foreach (var settings in new[] { "default", "fast" })
        {
            // pg-boss's defaults drain ~16 jobs/s (one job per fetch, a fetch per loop every 2 s): 100,000 would take hours.
            var jobs = system == "pg-boss" && settings == "default" ? Math.Min(burndownJobs, 2_000) : burndownJobs;
            results.Workloads.Add(await peers.RunAsync(system, "burndown", settings, jobs, Concurrency, TimeSpan.FromMinutes(10)));
            results.Workloads.Add(await peers.RunAsync(system, "latency", settings, latencyJobs, Concurrency, TimeSpan.FromMinutes(5)));
            results.Workloads.Add(await peers.RunAsync(system, "recovery", settings, null, Concurrency, recoveryCap + TimeSpan.FromMinutes(2)));
        }
    }
}

if (sections.Contains("pipelines"))
{
    var steps = pipelineCount * BenchmarkPipelines.Chain.Steps;
    log.WriteLine($"Pipelines: {pipelineCount:N0} of {BenchmarkPipelines.Chain.Steps} steps, and a burn-down of {steps:N0} plain jobs on the same silos");
    var pipelines = results.Pipelines = new PipelineResults
    {
        Pipelines = pipelineCount, StepsPerPipeline = BenchmarkPipelines.Chain.Steps, LoadAtStart = BenchmarkEnvironment.LoadAverage(),
    };
    // The step-to-job ratio is the target: its two runs go back to back, so the machine's drift falls on both alike.
    pipelines.Runs.Add(await OursAsync(BenchmarkPipelines.Chain.Workload, "default", () => ours.PipelinesAsync(BenchmarkPipelines.Chain, pipelineCount, Concurrency)));
    pipelines.PlainJobs = await OursAsync("burndown", "default", () => ours.BurndownAsync("default", steps, Concurrency, pipelines: true));
    pipelines.Runs.Add(await OursAsync(BenchmarkPipelines.Parallel.Workload, "default", () => ours.PipelinesAsync(BenchmarkPipelines.Parallel, pipelineCount, Concurrency)));
    foreach (var settings in new[] { "default", "fast" })
        pipelines.Runs.Add(await peers.RunAsync("bullmq", "pipelines", settings, pipelineCount, Concurrency, TimeSpan.FromMinutes(10)));
    pipelines.LoadAtEnd = BenchmarkEnvironment.LoadAverage();
}

if (sections.Contains("streams"))
{
    log.WriteLine($"Streams: {streamForks:N0} no-op forks through a work stream, and {streamForks:N0} plain jobs on silos set up alike, on each store");
    var streams = results.Streams = new StreamResults { Forks = streamForks, Workers = Concurrency, LoadAtStart = BenchmarkEnvironment.LoadAverage() };
    // The fork-to-job ratio is the figure: each store's two runs go back to back, so the machine's drift falls on both alike.
    foreach (var postgres in new[] { false, true })
    {
        streams.Runs.Add(await OursAsync("stream-forks", postgres ? "postgresql" : "in-memory", () => ours.StreamForksAsync(postgres, streamForks, Concurrency)));
        streams.Runs.Add(await OursAsync("plain-jobs", postgres ? "postgresql" : "in-memory", () => ours.PlainJobsAsync(postgres, streamForks, Concurrency)));
    }

    streams.LoadAtEnd = BenchmarkEnvironment.LoadAverage();
}

if (sections.Contains("history"))
{
    log.WriteLine("History decay: drain rate with 10,000 vs 1,000,000 finished jobs in the archive");
    results.History = await new HistoryDecay(server.ConnectionString, jobsPerRound: quick ? 5_000 : 20_000, rounds: quick ? 2 : 6, log).RunAsync();
    log.WriteLine($"  median ratio (1,000,000 / 10,000): {results.History.Ratio:0.00}");
}

if (sections.Contains("jobset"))
{
    log.WriteLine($"Jobset memory: {string.Join(" and ", jobSetSizes.Select(n => n.ToString("N0")))} no-op jobs, one worker process and one silo process");
    var jobSets = results.JobSets = new JobSetResults { LoadAtStart = BenchmarkEnvironment.LoadAverage() };
    foreach (var jobs in jobSetSizes)
    {
        try
        {
            jobSets.Runs.Add(await ours.JobSetAsync(jobs, Concurrency, TimeSpan.FromSeconds(1), jobSetCap));
        }
        catch (Exception e)
        {
            log.WriteLine($"  orleans-jobs jobset of {jobs:N0} FAILED: {e}");
            jobSets.Errors.Add($"{jobs:N0} jobs: {e.GetType().Name}: {e.Message.Split('\n')[0]}");
        }
    }

    jobSets.LoadAtEnd = BenchmarkEnvironment.LoadAverage();
}

if (sections.Contains("scaling"))
{
    log.WriteLine($"Scaling ({string.Join(", ", scalingParts)}): {scalingJobs:N0} jobs on 1, 2 and 4 silo processes; sends from 1, 4 and 16 clients; a silo idle and under {backlogJobs:N0} jobs");
    results.Scaling = await new ScalingBenchmark(server, log).RunAsync(scalingParts, scalingJobs, sendFor, backlogJobs);
}

await PublishAsync(results);
return 0;

// The figures to <output>/benchmarks.json and the page to <output>/benchmarks.md (scripts/bench copies it to docs/).
async Task PublishAsync(BenchmarkResults measured)
{
    await File.WriteAllTextAsync(Path.Combine(output, "benchmarks.json"), JsonSerializer.Serialize(measured, json));
    var published = Path.Combine(RepositoryRoot(), "docs", "benchmarks.md");
    var lastPage = File.Exists(published) ? await File.ReadAllTextAsync(published) : null;
    await File.WriteAllTextAsync(Path.Combine(output, "benchmarks.md"), BenchmarkReport.Publish(measured, sections, lastPage));
    log.WriteLine($"Wrote {Path.Combine(output, "benchmarks.md")}");
}

// A failed run of ours is reported as such (like a peer's), and the other sections still run.
async Task<WorkloadResult> OursAsync(string workload, string settings, Func<Task<WorkloadResult>> run)
{
    try
    {
        return await run();
    }
    catch (Exception e)
    {
        log.WriteLine($"  orleans-jobs {workload} ({settings}) FAILED: {e}");
        return new WorkloadResult { System = "orleans-jobs", Workload = workload, Settings = settings, Error = $"{e.GetType().Name}: {e.Message.Split('\n')[0]}" };
    }
}

static string RepositoryRoot()
{
    var directory = new DirectoryInfo(AppContext.BaseDirectory);
    while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Orleans.Jobs.sln"))) directory = directory.Parent;
    return directory?.FullName ?? throw new InvalidOperationException("Run the benchmarks from a checkout of the repository.");
}
