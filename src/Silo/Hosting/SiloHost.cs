using System.Net;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Orleans.Jobs.Grains;
using Orleans.Jobs.Grains.Queues;
using Orleans.Jobs.Runtime.Hosting;
using Orleans.Jobs.Runtime.Membership;
using Orleans.Jobs.Runtime;
using Orleans.Jobs.Runtime.Reminders;
using Orleans.Jobs.Runtime.Storage.PostgreSql;
using Orleans.Jobs.Silo.Gateway;
using Orleans.Jobs.Silo.Workers;

namespace Orleans.Jobs.Silo.Hosting;

/// <summary>Builds silo hosts: the grain runtime, worker grains and the HTTP gateway on one ASP.NET Core host.</summary>
public static class SiloHost
{
    /// <summary>The configuration sections each options class binds to.</summary>
    public static class Sections
    {
        /// <summary>Binds <see cref="SiloOptions"/>.</summary>
        public const string Silo = "Silo";

        /// <summary>Binds <see cref="GatewayOptions"/>.</summary>
        public const string Gateway = "Gateway";

        /// <summary>Binds <see cref="MembershipOptions"/>.</summary>
        public const string Membership = "Membership";

        /// <summary>Binds <see cref="ReminderOptions"/>.</summary>
        public const string Reminders = "Reminders";

        /// <summary>Binds <see cref="QueueOptions"/>.</summary>
        public const string Queues = "Queues";

        /// <summary>Binds <see cref="WorkerOptions"/>.</summary>
        public const string Workers = "Workers";

        /// <summary>Binds <see cref="PostgresStoreOptions"/>; a <c>ConnectionString</c> here selects the PostgreSQL store.</summary>
        public const string Store = "Store";
    }

    /// <summary>Creates a silo host builder. Options come from configuration (sections in <see cref="Sections"/>), then from <paramref name="configure"/>.</summary>
    public static WebApplicationBuilder CreateBuilder(string[] args, Action<ISiloBuilder>? configure = null)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
        builder.UseOrleansJobs(configure);
        return builder;
    }

    /// <summary>Adds an Orleans.Jobs silo to a web host: runtime, built-in grains, worker grains and gateway options.</summary>
    public static WebApplicationBuilder UseOrleansJobs(this WebApplicationBuilder builder, Action<ISiloBuilder>? configure = null)
    {
        var services = builder.Services;
        var configuration = builder.Configuration;
        services.Configure<SiloOptions>(configuration.GetSection(Sections.Silo));
        services.Configure<GatewayOptions>(configuration.GetSection(Sections.Gateway));
        services.Configure<MembershipOptions>(configuration.GetSection(Sections.Membership));
        services.Configure<ReminderOptions>(configuration.GetSection(Sections.Reminders));
        services.Configure<QueueOptions>(configuration.GetSection(Sections.Queues));
        services.Configure<WorkerOptions>(configuration.GetSection(Sections.Workers));

        // User configuration first: the runtime only fills in what the user did not register (store, clock).
        var silo = new SiloBuilder(services, configuration);
        configure?.Invoke(silo);
        var storeSection = configuration.GetSection(Sections.Store);
        if (!services.Any(d => d.ServiceType == typeof(IClusterStore)) && !string.IsNullOrEmpty(storeSection["ConnectionString"]))
            silo.UsePostgres(storeSection.Bind);

        services.AddGrainRuntime();
        services.AddJobGrains();
        services.AddOptions<GatewayOptions>().ValidateOnStart();
        services.AddOptions<WorkerOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<GatewayOptions>, GatewayOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<WorkerOptions>, WorkerOptionsValidator>());
        services.AddSingleton<JobWorkerService>();
        services.AddHostedService(sp => sp.GetRequiredService<JobWorkerService>());
        services.AddOptions<SiloOptions>().Configure<IOptions<GatewayOptions>>((silo, gateway) =>
            silo.GatewayAddress ??= gateway.Value.Port == 0 ? null : $"http://{ReachableHost(gateway.Value.Host)}:{gateway.Value.Port}");
        services.AddOptions<KestrelServerOptions>().Configure<IOptions<GatewayOptions>>((kestrel, gateway) =>
        {
            kestrel.Listen(IPAddress.TryParse(gateway.Value.Host, out var address) ? address : IPAddress.Loopback, gateway.Value.Port);
            kestrel.Limits.MaxRequestBodySize = gateway.Value.MaxRequestBytes;
            kestrel.AddServerHeader = false;
        });
        return builder;
    }

    // A wildcard address is where the gateway listens, not where others can reach it: record the host name instead.
    private static string ReachableHost(string host) =>
        IPAddress.TryParse(host, out var address) && (address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any)) ? Dns.GetHostName() : host;

    /// <summary>Builds the silo and maps its gateway.</summary>
    public static WebApplication BuildSilo(this WebApplicationBuilder builder)
    {
        var app = builder.Build();
        app.MapGateway();
        return app;
    }

    /// <summary>The address the gateway listens on, once the silo has started.</summary>
    public static Uri? GatewayUri(this WebApplication app) =>
        app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.Select(a => new Uri(a)).FirstOrDefault();
}
