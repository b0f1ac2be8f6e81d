using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Hosting;
using Orleans.Jobs.Silo.Hosting;

namespace Orleans.Jobs.Tests.Support;

/// <summary>
/// A silo on the stock host (<c>SiloHost.CreateBuilder</c>, the executable's own code path) with its HTTP gateway, on
/// free ports so tests can run side by side.
/// </summary>
public static class StockSilo
{
    public const string ClusterKey = "test-cluster-key";

    /// <summary>A TCP port nobody listens on now.</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>The arguments that put a stock silo on free ports with a fresh cluster id.</summary>
    public static string[] Arguments(params string[] more) =>
    [
        "--Gateway:Port=0", $"--Gateway:ClusterKey={ClusterKey}",
        $"--Cluster:SiloPort={FreePort()}", $"--Cluster:GatewayPort={FreePort()}",
        $"--Cluster:ClusterId=test-{Guid.NewGuid():N}", $"--Cluster:ServiceId=test-{Guid.NewGuid():N}",
        .. more,
    ];

    /// <summary>Starts a stock silo with <see cref="Arguments"/> plus <paramref name="more"/> that must refuse to start; returns the refusal.</summary>
    public static Task<OptionsValidationException> RefusedAsync(params string[] more) =>
        Assert.ThrowsAsync<OptionsValidationException>(async () =>
        {
            await using var app = await StartAsync(Arguments(more));
        });

    /// <summary>Builds and starts a stock silo, its log going to <paramref name="log"/> or nowhere; dispose to stop it.</summary>
    public static async Task<WebApplication> StartAsync(string[] arguments, Action<ISiloBuilder>? configure = null, ILoggerProvider? log = null)
    {
        var builder = SiloHost.CreateBuilder(arguments, configure);
        builder.Logging.ClearProviders();
        if (log is not null) builder.Logging.AddProvider(log);
        var app = builder.BuildSilo();
        try
        {
            await app.StartAsync(TestContext.Current.CancellationToken);
            return app;
        }
        catch
        {
            await app.DisposeAsync(); // a silo refused after its server started (ExposedEndpointGuard) must not linger
            throw;
        }
    }
}
