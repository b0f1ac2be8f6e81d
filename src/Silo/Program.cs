using Orleans.Jobs.Silo.Hosting;
using Orleans.Jobs.Silo.Sample;

// dotnet run --project src/Silo [-- --serve] [--skip-sample] [--port N] [--cluster-key KEY]
// Without --serve: start a silo on the embedded store, run the sample workload, print its results and exit.
if (args.Contains("--help") || args.Contains("-h"))
{
    Console.WriteLine("""
        Orleans.Jobs silo

        Usage: dotnet run --project src/Silo -- [options]

          (no options)          start a silo on the embedded in-memory store, run the sample workload, exit 0 on success
          --connection CS       use PostgreSQL (an Npgsql connection string) instead of the embedded store;
                                or set ORLEANSJOBS_Store__ConnectionString
          --serve               keep serving after the sample (Ctrl+C stops gracefully)
          --skip-sample         with --serve: serve without running the sample
          --port N              gateway port (default 7171; 0 picks a free port)
          --host IP             gateway address (default 127.0.0.1)
          --cluster-key KEY     the key clients must send (default: a development key, loopback only)
          --node NAME           this silo's node name (default: the machine name)

        Any option can also be set as configuration, e.g. --Workers:MaxConcurrency=32 or ORLEANSJOBS_Gateway__Port=8000.
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
var builder = SiloHost.CreateBuilder(configArgs, silo =>
{
    if (runSample) SampleWorkload.Configure(silo);
});
builder.Configuration.AddCommandLine(configArgs, new Dictionary<string, string>
{
    ["--port"] = "Gateway:Port",
    ["--host"] = "Gateway:Host",
    ["--cluster-key"] = "Gateway:ClusterKey",
    ["--node"] = "Silo:Node",
    ["--connection"] = "Store:ConnectionString",
});
if (!serve)
{
    // The sample fails jobs on purpose and prints what happens itself; keep the log to real problems.
    builder.Logging.SetMinimumLevel(LogLevel.Warning);
    builder.Logging.AddFilter("Orleans.Jobs.Silo.Workers", LogLevel.Error);
}

WebApplication app;
try
{
    app = builder.BuildSilo();
    await app.StartAsync();
}
catch (Exception e) when (e is Microsoft.Extensions.Options.OptionsValidationException or IOException)
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
    Console.WriteLine($"Serving on {silo.GatewayUri()}; press Ctrl+C to stop.");
    await silo.WaitForShutdownAsync();
}
else
{
    await silo.StopAsync();
}

return exitCode;
