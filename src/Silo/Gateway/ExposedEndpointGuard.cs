using System.Net;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;

namespace Orleans.Jobs.Silo.Gateway;

/// <summary>
/// Refuses to start a silo whose HTTP server listens where other hosts can reach it while a gateway key is the
/// development key or too weak (<see cref="GatewayKeyRules"/>). It reads the addresses Kestrel actually bound, once the
/// server has started, so every endpoint counts — <c>Gateway:Host</c>, <c>Kestrel:Endpoints</c>, <c>--urls</c> — and
/// until it has, <see cref="GatewayKeys"/> serves no keyed request.
/// </summary>
internal sealed class ExposedEndpointGuard(IServer server, IOptions<GatewayOptions> options, GatewayKeys keys) : IHostedLifecycleService
{
    public Task StartedAsync(CancellationToken cancellationToken)
    {
        var addresses = server.Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
        foreach (var address in addresses.Where(IsReachableFromOtherHosts))
            if (GatewayKeyRules.CheckExposed(options.Value, $"the HTTP endpoint {address}") is { } failure)
                throw new OptionsValidationException(Hosting.SiloHost.GatewaySection, typeof(GatewayOptions), [failure]);
        keys.Open();
        return Task.CompletedTask;
    }

    /// <summary>Anything but a loopback IP or <c>localhost</c>: wildcards (<c>0.0.0.0</c>, <c>[::]</c>, <c>*</c>, <c>+</c>) and host names included.</summary>
    private static bool IsReachableFromOtherHosts(string address)
    {
        var host = BindingAddress(address);
        return !(host.Equals("localhost", StringComparison.OrdinalIgnoreCase) || (IPAddress.TryParse(host, out var ip) && IPAddress.IsLoopback(ip)));
    }

    // Kestrel's addresses are URLs, but a wildcard host ("http://*:80", "http://+:80") is no valid Uri: take the text between "://" and the port.
    private static string BindingAddress(string address)
    {
        var start = address.IndexOf("://", StringComparison.Ordinal) is var scheme and >= 0 ? scheme + 3 : 0;
        var authority = address[start..].Split('/')[0];
        var colon = authority.LastIndexOf(':');
        var host = colon > authority.LastIndexOf(']') ? authority[..colon] : authority;
        return host.Trim('[', ']');
    }

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
