// An Orleans silo and nothing else: localhost clustering on the given ports, no grains, no storage, no HTTP gateway,
// none of Orleans.Jobs' assemblies. scripts/bench --only scaling measures its idle resident memory in the same run as a
// stock Orleans.Jobs silo's, on the same runtimeconfig.json, as the floor any silo on Orleans starts from.
// Usage: Orleans.Jobs.EmptySilo <silo port> <gateway port>; says "READY empty" once started and stops when stdin closes.
using System.Globalization;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

if (args.Length != 2 || !int.TryParse(args[0], CultureInfo.InvariantCulture, out var siloPort) || !int.TryParse(args[1], CultureInfo.InvariantCulture, out var gatewayPort))
{
    Console.Error.WriteLine("usage: Orleans.Jobs.EmptySilo <silo port> <gateway port>");
    return 2;
}

var builder = Host.CreateApplicationBuilder();
builder.Logging.SetMinimumLevel(LogLevel.Warning);
builder.UseOrleans(silo => silo.UseLocalhostClustering(siloPort, gatewayPort));
using var host = builder.Build();
await host.StartAsync();
Console.WriteLine("READY empty");
while (await Console.In.ReadLineAsync() is not null)
{
}

using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
await host.StopAsync(deadline.Token);
return 0;
