using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;
using Orleans.Jobs.Client;
using Orleans.Jobs.Grains.Interfaces;
using Orleans.Jobs.Silo.Hosting;

// A separate process for multi-process tests and benchmarks.
//   silo   <connection> <schema> <queue> [--hang] [--Section:Key=value ...]
//          a silo on PostgreSQL whose handler records each execution in <schema>.proof_executions, then works 10 ms
//          (or, with --hang, never returns: for recovery measurements); prints "READY <silo-id> <gateway>" and stops
//          gracefully when stdin closes. Further arguments are silo configuration.
//   client <gateway> <key> <queue> <count> sends <count> jobs through the gateway in batches; prints "SENT <count>"
return args.FirstOrDefault() switch
{
    "silo" when args.Length >= 4 => await RunSiloAsync(args[1], args[2], args[3], args.Contains("--hang"), args.Skip(4).Where(a => a != "--hang").ToArray()),
    "client" when args.Length == 5 => await RunClientAsync(new Uri(args[1]), args[2], args[3], int.Parse(args[4])),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("usage: silo <connection> <schema> <queue> | client <gateway> <key> <queue> <count>");
    return 2;
}

static async Task<int> RunSiloAsync(string connection, string schema, string queue, bool hang, string[] configuration)
{
    await using var recorder = NpgsqlDataSource.Create(connection);
    var insert = $"insert into {schema}.proof_executions (job_id, silo_id, attempt, started_at) values (@job, @silo, @attempt, clock_timestamp())";
    var builder = SiloHost.CreateBuilder(["--Gateway:Port=0", $"--Store:ConnectionString={connection}", $"--Store:Schema={schema}", .. configuration], silo =>
        silo.AddJobHandler(queue, async (job, ct) =>
        {
            await using (var command = recorder.CreateCommand(insert))
            {
                command.Parameters.AddWithValue("job", job.JobId);
                command.Parameters.AddWithValue("silo", job.SiloId);
                command.Parameters.AddWithValue("attempt", job.Attempt);
                await command.ExecuteNonQueryAsync(ct);
            }

            await Task.Delay(hang ? Timeout.InfiniteTimeSpan : TimeSpan.FromMilliseconds(10), ct); // some work, so jobs are in flight when a silo dies
            return null;
        }));
    builder.Logging.SetMinimumLevel(LogLevel.Warning);
    await using var app = builder.BuildSilo();
    await app.StartAsync();
    var siloId = app.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<Orleans.Jobs.Runtime.Hosting.SiloOptions>>().Value.SiloId;
    Console.WriteLine($"READY {siloId} {app.GatewayUri()}");

    await Console.In.ReadToEndAsync(); // the parent closes stdin to stop us gracefully
    await app.StopAsync();
    return 0;
}

static async Task<int> RunClientAsync(Uri gateway, string key, string queue, int count)
{
    using var client = new ClusterClient(new ClientOptions { Gateways = { gateway }, ClusterKey = key });
    var grain = client.GetGrain<IQueueGrain>(queue);
    for (var sent = 0; sent < count; sent += 1000)
        await grain.SendBatchAsync(Enumerable.Range(sent, Math.Min(1000, count - sent)).Select(i => new JobMessage($"job {i}")).ToList());
    Console.WriteLine($"SENT {count}");
    return 0;
}
