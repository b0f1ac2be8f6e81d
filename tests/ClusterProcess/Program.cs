using System.Diagnostics;
using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using Orleans.Configuration;
using Orleans.Jobs.Client.Hosting;
using Orleans.Jobs.Client.JobSets;
using Orleans.Jobs.Client.Pipelines;
using Orleans.Jobs.ClusterProcess;
using Orleans.Jobs.Grains.Interfaces;
using Orleans.Jobs.Grains.Interfaces.Pipelines;
using Orleans.Jobs.Silo.Pipelines;
using Orleans.Jobs.Silo.Hosting;
using Orleans.Jobs.Silo.Workers;

// A separate process for multi-process tests and benchmarks.
//   silo   <connection> <schema> <queue> [--hang] [--Section:Key=value ...]
//          an Orleans silo on the stock host with the PostgreSQL job store; its handler records each execution in
//          <schema>.proof_executions, then works 10 ms (or, with --hang, never returns: for recovery measurements).
//          Prints "READY <owner>" and stops gracefully when stdin closes. Further arguments are silo configuration
//          (--Cluster:SiloPort=..., --Cluster:GatewayPort=..., --Cluster:Redis=... for Redis membership);
//          --Membership:<option>=... sets Orleans' ClusterMembershipOptions over Orleans.Jobs' timing (the benchmarks'
//          fast recovery, e.g. --Membership:ProbeTimeout=00:00:00.500). With --noop the handler records nothing and does
//          nothing, once a line "GO" has come on stdin: until then the workers hold the jobs they claimed, so the
//          benchmarks start several silos' work at one moment and can fill a backlog before it drains.
//   pipeline-silo <connection> <schema> [--Section:Key=value ...]
//          a silo (PostgreSQL job store and pipeline store) running the proof pipeline's workers (ProofPipeline), 20 ms
//          per step (--Proof:StepMilliseconds=N); prints "READY <owner>" and stops gracefully when stdin closes.
//   pipeline-client <count> <id-prefix> [--Section:Key=value ...]
//          an Orleans client that starts <count> proof pipelines with ids <id-prefix>-<n> (n from 0), prints
//          "STARTED <count>", follows them with PipelineManager.UpdateAsync until all finished (riding out a gateway
//          that dies) and prints "FINISHED <succeeded> <other>".
//   jobset-worker <connection> <schema> <jobset-id> <count> [--Section:Key=value ...]
//          an Orleans client running JobSet.RunAsync on jobs "job-0".."job-<count-1>": each run is recorded in
//          <schema>.jobset_runs; jobs whose number ends in 7 throw on their first run. Prints the summary line and
//          exits 0 when the set is done.
//   stream-client <connection> <schema> <stream-id> <count> [--Section:Key=value ...]
//          an Orleans client running a WorkStreamClient with id <stream-id> (WorkStreamProof): it forks a posted
//          function (this assembly) for 0..<count-1>, each run of which is recorded in <schema>.stream_fork_runs, and one
//          stage collects the records. Prints "FORKED <count>", then "FINISHED <json>" with what the stage received;
//          reattaches to its stream when a run fails (a silo died). Run it against "silo" processes.
//   jobset-bench <jobset-id> <count> [--JobSetBench:Concurrency=N] [--JobSetBench:IntervalMilliseconds=N] [--Section:Key=value ...]
//          an Orleans client running JobSet.RunAsync on <count> no-op jobs "job-0".."job-<count-1>", made one at a time
//          as the set is walked (JobSetBench); prints PROGRESS lines (ids walked, jobs run), ADDED when the first job
//          runs and SUMMARY at the end. For the benchmark of a jobset's memory (scripts/bench --only jobset).
//   client <queue> <count> [--Section:Key=value ...]
//          an Orleans client (Cluster:Gateways=host:port,... or Cluster:Redis=...) that sends <count> jobs in batches;
//          prints "SENT <count>".
//   send-bench <queue> <seconds> [--Section:Key=value ...]
//          an Orleans client that prints "READY client-<pid>", waits for a line "GO" on stdin, then sends one job at a time
//          (IQueueGrain.SendAsync, each awaited) for <seconds> and prints "SENT <count> <seconds taken>". For the
//          scaling benchmark's concurrent clients (scripts/bench --only scaling).
// OJ_FIRST_CHANCE_EXCEPTIONS=1 writes every exception thrown in the process, caught or not, to stderr with its stack:
// for finding exceptions a quiet process throws and swallows (a silo's logs do not show them).
if (Environment.GetEnvironmentVariable("OJ_FIRST_CHANCE_EXCEPTIONS") == "1")
    AppDomain.CurrentDomain.FirstChanceException += (_, e) => Console.Error.WriteLine($"first-chance {e.Exception.GetType().FullName}: {e.Exception.Message}{Environment.NewLine}{new StackTrace(1, false)}");
// OJ_ASSEMBLY_LOADS=1 writes each assembly the process loads with the stack that loaded it: what an idle silo's memory pays for.
if (Environment.GetEnvironmentVariable("OJ_ASSEMBLY_LOADS") == "1")
    AppDomain.CurrentDomain.AssemblyLoad += (_, e) => Console.Error.WriteLine($"assembly-load {e.LoadedAssembly.GetName().Name}{Environment.NewLine}{new StackTrace(1, false)}");

return args.FirstOrDefault() switch
{
    "silo" when args.Length >= 4 => await RunSiloAsync(args[1], args[2], args[3], SiloHandler(args), args.Skip(4).Where(a => a is not "--hang" and not "--noop").ToArray()),
    "pipeline-silo" when args.Length >= 3 => await RunPipelineSiloAsync(args[1], args[2], args.Skip(3).ToArray()),
    "pipeline-client" when args.Length >= 3 => await RunPipelineClientAsync(int.Parse(args[1]), args[2], args.Skip(3).ToArray()),
    "jobset-worker" when args.Length >= 5 => await RunJobSetWorkerAsync(args[1], args[2], args[3], int.Parse(args[4]), args.Skip(5).ToArray()),
    "stream-client" when args.Length >= 5 => await RunStreamClientAsync(args[1], args[2], args[3], int.Parse(args[4]), args.Skip(5).ToArray()),
    "jobset-bench" when args.Length >= 3 => await RunJobSetBenchAsync(args[1], int.Parse(args[2]), args.Skip(3).ToArray()),
    "client" when args.Length >= 3 => await RunClientAsync(args[1], int.Parse(args[2]), args.Skip(3).ToArray()),
    "send-bench" when args.Length >= 3 => await RunSendBenchAsync(args[1], double.Parse(args[2], CultureInfo.InvariantCulture), args.Skip(3).ToArray()),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("usage: silo <connection> <schema> <queue> [--hang|--noop] [--Key=value ...] | pipeline-silo <connection> <schema> [--Key=value ...] | pipeline-client <count> <id-prefix> [--Key=value ...] | jobset-worker <connection> <schema> <jobset-id> <count> [--Key=value ...] | stream-client <connection> <schema> <stream-id> <count> [--Key=value ...] | jobset-bench <jobset-id> <count> [--Key=value ...] | client <queue> <count> [--Key=value ...] | send-bench <queue> <seconds> [--Key=value ...]");
    return 2;
}

static SiloHandlerKind SiloHandler(string[] args) =>
    args.Contains("--noop") ? SiloHandlerKind.NoOpAfterGo : args.Contains("--hang") ? SiloHandlerKind.Hang : SiloHandlerKind.Record;

static async Task<int> RunSiloAsync(string connection, string schema, string queue, SiloHandlerKind handler, string[] configuration)
{
    await using var recorder = NpgsqlDataSource.Create(connection);
    var go = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
    var insert = $"insert into {schema}.proof_executions (job_id, silo_id, attempt, started_at) values (@job, @silo, @attempt, clock_timestamp())";
    var builder = SiloHost.CreateBuilder(["--Gateway:Port=0", $"--Store:ConnectionString={connection}", $"--Store:Schema={schema}", .. configuration], silo =>
    {
        silo.Services.AddOptions<ClusterMembershipOptions>().PostConfigure(o => silo.Configuration.GetSection("Membership").Bind(o));
        if (handler == SiloHandlerKind.NoOpAfterGo)
        {
            silo.AddJobHandler(queue, async (_, ct) =>
            {
                await go.Task.WaitAsync(ct);
                return null;
            });
            return;
        }

        silo.AddJobHandler(queue, async (job, ct) =>
        {
            await using (var command = recorder.CreateCommand(insert))
            {
                command.Parameters.AddWithValue("job", job.JobId);
                command.Parameters.AddWithValue("silo", job.SiloId);
                command.Parameters.AddWithValue("attempt", job.Attempt);
                await command.ExecuteNonQueryAsync(ct);
            }

            // some work, so jobs are in flight when a silo dies
            await Task.Delay(handler == SiloHandlerKind.Hang ? Timeout.InfiniteTimeSpan : TimeSpan.FromMilliseconds(10), ct);
            return null;
        });
    });
    builder.Logging.SetMinimumLevel(LogLevel.Warning);
    await using var app = builder.BuildSilo();
    await app.StartAsync();
    return await ServeUntilStdinClosesAsync(app, go);
}

static async Task<int> RunPipelineSiloAsync(string connection, string schema, string[] configuration)
{
    var builder = SiloHost.CreateBuilder(["--Gateway:Port=0", $"--Store:ConnectionString={connection}", $"--Store:Schema={schema}", .. configuration], silo =>
        silo.AddProofPipelineWorkers(TimeSpan.FromMilliseconds(silo.Configuration.GetValue("Proof:StepMilliseconds", 20))).UsePipelinePostgresStore());
    builder.Logging.SetMinimumLevel(LogLevel.Warning);
    await using var app = builder.BuildSilo();
    await app.StartAsync();
    return await ServeUntilStdinClosesAsync(app);
}

// Serves until the parent closes stdin (its way to stop us gracefully); a line "GO" on the way completes go.
static async Task<int> ServeUntilStdinClosesAsync(WebApplication app, TaskCompletionSource? go = null)
{
    Console.WriteLine($"READY {app.Services.GetRequiredService<JobWorkerService>().Owner}");
    while (await Console.In.ReadLineAsync() is { } line)
    {
        if (line.Trim() == "GO") go?.TrySetResult();
    }

    go?.TrySetResult(); // held workers finish at once rather than wait out the shutdown timeout

    using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
    await app.StopAsync(deadline.Token);
    return 0;
}

static async Task<int> RunJobSetWorkerAsync(string connection, string schema, string jobSetId, int count, string[] configuration)
{
    await using var recorder = NpgsqlDataSource.Create(connection);
    using var host = await StartClientAsync(configuration);
    var worker = $"worker-{Environment.ProcessId}";
    var summary = await JobSet.RunAsync(host.Services.GetRequiredService<IClusterClient>(), jobSetId, async (jobId, data, ct) =>
    {
        await using var connectionForRun = await recorder.OpenConnectionAsync(ct);
        await using var transaction = await connectionForRun.BeginTransactionAsync(ct);
        await using (var lockJob = new NpgsqlCommand("select pg_advisory_xact_lock(hashtext(@id))", connectionForRun, transaction))
        {
            lockJob.Parameters.AddWithValue("id", jobId);
            await lockJob.ExecuteNonQueryAsync(ct);
        }

        long earlier;
        await using (var runs = new NpgsqlCommand($"select count(*) from {schema}.jobset_runs where job_id = @id", connectionForRun, transaction))
        {
            runs.Parameters.AddWithValue("id", jobId);
            earlier = (long)(await runs.ExecuteScalarAsync(ct))!;
        }

        var fails = jobId.EndsWith('7') && earlier == 0;
        await using (var insert = new NpgsqlCommand($"insert into {schema}.jobset_runs (job_id, worker, ok, started_at) values (@id, @worker, @ok, clock_timestamp())", connectionForRun, transaction))
        {
            insert.Parameters.AddWithValue("id", jobId);
            insert.Parameters.AddWithValue("worker", worker);
            insert.Parameters.AddWithValue("ok", !fails);
            await insert.ExecuteNonQueryAsync(ct);
        }

        await transaction.CommitAsync(ct);
        if (fails) throw new InvalidOperationException($"{jobId} fails on its first run");
    }, Enumerable.Range(0, count).Select(i => $"job-{i}"), options: new JobSetOptions { WorkerName = worker, IdleWait = TimeSpan.FromSeconds(1), Concurrency = JobSetWorker.Concurrency });
    Console.WriteLine($"SUMMARY {summary.Completed} {summary.Failed} {summary.RunHere}");
    await host.StopAsync();
    return 0;
}

static async Task<int> RunJobSetBenchAsync(string jobSetId, int count, string[] configuration)
{
    using var host = await StartClientAsync(configuration);
    var settings = host.Services.GetRequiredService<IConfiguration>().GetSection("JobSetBench");
    var exit = await JobSetBench.RunAsync(host.Services.GetRequiredService<IClusterClient>(), jobSetId, count,
        settings.GetValue("Concurrency", JobSetBench.DefaultConcurrency), TimeSpan.FromMilliseconds(settings.GetValue("IntervalMilliseconds", 500)), Console.Out,
        host.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping);
    await host.StopAsync();
    return exit;
}

// An Orleans client host (Cluster:Gateways=host:port,... or Cluster:Redis=...), started.
static async Task<IHost> StartClientAsync(string[] configuration)
{
    var builder = Host.CreateApplicationBuilder(configuration);
    builder.Logging.SetMinimumLevel(LogLevel.Warning);
    builder.UseOrleansClient(client => client.UseOrleansJobs(builder.Configuration));
    var host = builder.Build();
    await host.StartAsync();
    return host;
}

static async Task<int> RunPipelineClientAsync(int count, string prefix, string[] configuration)
{
    using var host = await StartClientAsync(configuration);
    var manager = new PipelineManager(host.Services.GetRequiredService<IClusterClient>());
    var pipelines = Enumerable.Range(0, count).Select(n => ProofPipeline.For(n, $"{prefix}-{n}")).ToList();
    foreach (var chunk in pipelines.Chunk(50)) await Task.WhenAll(chunk.Select(p => manager.StartAsync(p)));
    Console.WriteLine($"STARTED {count}");

    using var deadline = new CancellationTokenSource(TimeSpan.FromMinutes(5));
    while (pipelines.Any(p => !p.Finished))
    {
        try
        {
            await manager.UpdateAsync(TimeSpan.FromSeconds(5), deadline.Token);
        }
        catch (Exception e) when (!deadline.IsCancellationRequested)
        {
            Console.Error.WriteLine($"update failed, retrying: {e.GetType().Name}: {e.Message}"); // e.g. our gateway silo was killed
            await Task.Delay(TimeSpan.FromMilliseconds(500), deadline.Token);
        }
    }

    Console.WriteLine($"FINISHED {pipelines.Count(p => p.FinalState == PipelineState.Succeeded)} {pipelines.Count(p => p.FinalState != PipelineState.Succeeded)}");
    await host.StopAsync();
    return 0;
}

static async Task<int> RunClientAsync(string queue, int count, string[] configuration)
{
    using var host = await StartClientAsync(configuration);
    var grain = host.Services.GetRequiredService<IClusterClient>().GetGrain<IQueueGrain>(queue);
    for (var sent = 0; sent < count; sent += 1000)
        await grain.SendBatchAsync(Enumerable.Range(sent, Math.Min(1000, count - sent)).Select(i => new JobMessage($"job {i}")).ToList());
    Console.WriteLine($"SENT {count}");
    await host.StopAsync();
    return 0;
}

static async Task<int> RunStreamClientAsync(string connection, string schema, string streamId, int count, string[] configuration)
{
    using var host = await StartClientAsync(configuration);
    var exit = await WorkStreamProof.RunClientAsync(host.Services.GetRequiredService<IClusterClient>(), connection, schema, streamId, count, Console.Out);
    await host.StopAsync();
    return exit;
}

static async Task<int> RunSendBenchAsync(string queue, double seconds, string[] configuration)
{
    using var host = await StartClientAsync(configuration);
    var grain = host.Services.GetRequiredService<IClusterClient>().GetGrain<IQueueGrain>(queue);
    await grain.SendAsync("warm-up"); // the first call connects and activates the queue grain; not counted
    Console.WriteLine($"READY client-{Environment.ProcessId}");
    string? line;
    do line = await Console.In.ReadLineAsync();
    while (line is not null && line.Trim() != "GO");
    if (line is null) return 1; // the parent closed stdin without a GO: nothing to measure

    var sent = 0;
    var clock = Stopwatch.StartNew();
    while (clock.Elapsed.TotalSeconds < seconds)
    {
        await grain.SendAsync("{}");
        sent++;
    }

    Console.WriteLine($"SENT {sent} {clock.Elapsed.TotalSeconds.ToString("0.000", CultureInfo.InvariantCulture)}");
    await host.StopAsync();
    return 0;
}

/// <summary>What a <c>silo</c> process's handler does with a job.</summary>
internal enum SiloHandlerKind
{
    /// <summary>Records the execution, then works 10 ms.</summary>
    Record,

    /// <summary>Records the execution, then never returns (the recovery benchmark's silo to be killed).</summary>
    Hang,

    /// <summary>Nothing, once a line "GO" came on stdin.</summary>
    NoOpAfterGo,
}
