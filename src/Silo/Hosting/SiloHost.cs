using System.Net;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration.EnvironmentVariables;
using Microsoft.Extensions.Configuration.Memory;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Orleans.Jobs.Client.Hosting;
using Orleans.Jobs.Silo.Gateway;

namespace Orleans.Jobs.Silo.Hosting;

/// <summary>
/// The stock silo host: an ASP.NET Core host with an Orleans silo running Orleans.Jobs and the HTTP gateway for
/// other languages. Your own host can do the same with <c>builder.UseOrleans(silo => silo.AddOrleansJobs())</c>.
/// </summary>
public static class SiloHost
{
    /// <summary>Binds <see cref="GatewayOptions"/> (the HTTP gateway).</summary>
    public const string GatewaySection = "Gateway";

    /// <summary>The command-line switches and the settings they set; the same on the stock executable and on <see cref="CreateBuilder"/>.</summary>
    public static IReadOnlyDictionary<string, string> SwitchMappings { get; } = new Dictionary<string, string>
    {
        ["--port"] = "Gateway:Port",
        ["--host"] = "Gateway:Host",
        ["--cluster-key"] = "Gateway:ClusterKey",
        ["--node"] = "Silo:Node",
        ["--connection"] = "Store:ConnectionString",
        ["--redis"] = "Cluster:Redis",
        ["--silo-port"] = "Cluster:SiloPort",
        ["--gateway-port"] = "Cluster:GatewayPort",
    };

    /// <summary>
    /// The default log levels: ASP.NET Core's hosting and routing log about ten lines per request at Information, so a
    /// request logs nothing below Warning; the silo's own lifecycle lines (Microsoft.Hosting.Lifetime, Orleans) stay.
    /// Any configuration source (appsettings, environment, command line) overrides them.
    /// </summary>
    public static IReadOnlyDictionary<string, string?> QuietLogLevels { get; } = new Dictionary<string, string?>
    {
        ["Logging:LogLevel:Microsoft.AspNetCore"] = nameof(LogLevel.Warning),
    };

    /// <summary>The log category of ASP.NET Core's per-request lines, which hold each request's URL.</summary>
    public const string RequestUrlLogCategory = "Microsoft.AspNetCore.Hosting.Diagnostics";

    /// <summary>
    /// Creates a silo host builder. Configuration: appsettings, environment (plain and <c>ORLEANSJOBS_</c>-prefixed) and
    /// the command line with <see cref="SwitchMappings"/> — all applied before the silo is configured, so a
    /// <c>--connection</c> always selects PostgreSQL. <paramref name="configure"/> gets the Orleans silo builder: add job
    /// handlers, providers, or call <c>AddOrleansJobs</c> yourself with options; otherwise it is called for you.
    /// </summary>
    public static WebApplicationBuilder CreateBuilder(string[] args, Action<ISiloBuilder>? configure = null)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
        builder.Configuration.Sources.Insert(0, new EnvironmentVariablesConfigurationSource { Prefix = OrleansJobsSiloBuilderExtensions.EnvironmentPrefix });
        builder.Configuration.Sources.Insert(0, new MemoryConfigurationSource { InitialData = QuietLogLevels }); // under every other source
        builder.Configuration.AddCommandLine(args, SwitchMappings.ToDictionary());
        builder.WebHost.UseKestrelHttpsConfiguration(); // the slim builder leaves out Kestrel:Certificates and https Kestrel:Endpoints
        builder.UseOrleans(silo =>
        {
            configure?.Invoke(silo);
            if (!OrleansJobsSiloBuilderExtensions.IsAdded(silo)) silo.AddOrleansJobs();
        });
        builder.AddGateway();
        return builder;
    }

    /// <summary>Adds the HTTP gateway's options and server settings to a web host (map it with <see cref="BuildSilo"/> or <c>MapGateway</c>).</summary>
    public static WebApplicationBuilder AddGateway(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.Configure<GatewayOptions>(builder.Configuration.GetSection(GatewaySection));
        services.AddOptions<GatewayOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<GatewayOptions>, GatewayOptionsValidator>());
        services.AddSingleton<GatewayKeys>();
        services.AddHostedService<ExposedEndpointGuard>();
        // Hosting's "Request starting" lines carry the URL with its query string, where a careless client may put a key:
        // they stay off at every configured level (added last, this rule wins over configuration's for the category).
        services.PostConfigure<LoggerFilterOptions>(o => o.Rules.Add(new LoggerFilterRule(null, RequestUrlLogCategory, LogLevel.Warning, null)));
        services.AddOptions<KestrelServerOptions>().Configure<IOptions<GatewayOptions>>((kestrel, gateway) =>
        {
            var certificate = gateway.Value.Certificate.Path is { } path ? PfxCertificate.Load(path, gateway.Value.Certificate.Password, "Gateway:Certificate:Path") : null;
            kestrel.Listen(IPAddress.TryParse(gateway.Value.Host, out var address) ? address : IPAddress.Loopback, gateway.Value.Port, listen =>
            {
                if (certificate is not null) listen.UseHttps(certificate);
            });
            kestrel.Limits.MaxRequestBodySize = gateway.Value.MaxRequestBytes;
            kestrel.AddServerHeader = false;
        });
        return builder;
    }

    /// <summary>Builds the silo and maps its gateway.</summary>
    public static WebApplication BuildSilo(this WebApplicationBuilder builder)
    {
        var app = builder.Build();
        app.MapGateway();
        return app;
    }

    /// <summary>The address the HTTP gateway listens on, once the silo has started.</summary>
    public static Uri? GatewayUri(this WebApplication app) =>
        app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.Select(a => new Uri(a)).FirstOrDefault();
}
