using Orleans.Jobs.Silo.Hosting;
using Orleans.Jobs.Silo.Sample;

// dotnet run --project src/Silo [-- --serve] [--skip-sample] [--connection CS] [--redis HOST:PORT] ...
// Without --serve: start a silo on the embedded defaults, run the sample workload, print its results and exit.
if (args.Contains("--help") || args.Contains("-h"))
{
    Console.WriteLine("""
        Orleans.Jobs silo (Microsoft Orleans 10)

        Usage: dotnet run --project src/Silo -- [options]

          (no options)          an embedded silo (localhost clustering, in-memory state, reminders and jobs):
                                runs the sample workload, exits 0 on success
          --connection CS       PostgreSQL (an Npgsql connection string) for jobs, grain state, reminders and
                                membership; or set ORLEANSJOBS_Store__ConnectionString
          --redis HOST:PORT     Orleans membership on Redis instead (jobs, state and reminders stay on PostgreSQL)
          --serve               keep serving after the sample (Ctrl+C stops gracefully)
          --skip-sample         with --serve: serve without running the sample
          --node NAME           this silo's node name (default: the machine name)
          --silo-port N         Orleans silo-to-silo port (default 11111)
          --gateway-port N      Orleans client gateway port (default 30000)
          --port N              HTTP gateway port for other languages (default 7171; 0 picks a free port)
          --host IP             HTTP gateway address (default 127.0.0.1)
          --cluster-key KEY     the key HTTP clients must send (default: a development key, loopback only)

        Any option can also be set as configuration, e.g. --Workers:MaxConcurrency=32, or in the environment as
        ORLEANSJOBS_Workers__MaxConcurrency=32.
        """);
    return 0;
}

var serve = args.Contains("--serve");
var runSample = !args.Contains("--skip-sample");
if (!serve && !runSample)
{
    Console.Error.WriteLine("--skip-sample needs --serve: there would be nothing to do.");
    return 2;
}

var configArgs = args.Where(a => a is not "--serve" and not "--skip-sample").ToArray();
WebApplication app;
try
{
    var builder = SiloHost.CreateBuilder(configArgs, silo =>
    {
        if (runSample) SampleWorkload.Configure(silo);
    });
    if (!serve)
    {
        // The sample fails jobs on purpose and prints what happens itself; keep the log to real problems.
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Logging.AddFilter("Orleans.Jobs.Silo.Workers", LogLevel.Error);
        builder.Logging.AddFilter("Orleans", LogLevel.Error);
    }

    app = builder.BuildSilo();
    await app.StartAsync();
}
catch (Exception e) when (e is Microsoft.Extensions.Options.OptionsValidationException or IOException or InvalidOperationException)
{
    Console.Error.WriteLine($"The silo could not start: {e.Message}");
    return 1;
}

await using var silo = app;

var exitCode = 0;
if (runSample)
{
    var sample = new SampleWorkload(silo, Console.Out);
    exitCode = await sample.RunAsync(silo.Lifetime.ApplicationStopping) ? 0 : 1;
}

if (serve)
{
    Console.WriteLine($"Serving: Orleans gateway and HTTP gateway on {silo.GatewayUri()}; press Ctrl+C to stop.");
    await silo.WaitForShutdownAsync();
}
else
{
    using var stopDeadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
    await silo.StopAsync(stopDeadline.Token);
}

return exitCode;
