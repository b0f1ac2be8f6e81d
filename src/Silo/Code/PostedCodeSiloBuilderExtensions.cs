using System.Net;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Orleans.Jobs.Grains.Code;
using Orleans.Jobs.Grains.Interfaces.Code;
using Orleans.Jobs.Silo.Gateway;
using Orleans.Jobs.Silo.Hosting;
using Orleans.Runtime;

namespace Orleans.Jobs.Silo.Code;

/// <summary>What every silo gets for posted code: its options, the cluster key check, the <c>code</c> queue's handler, the unloader and the files code hosts read.</summary>
internal static class PostedCodeSiloBuilderExtensions
{
    /// <summary>Binds <see cref="PostedCodeOptions"/>.</summary>
    public const string Section = "PostedCode";

    public static ISiloBuilder AddPostedCode(this ISiloBuilder silo, IConfiguration configuration)
    {
        var services = silo.Services;
        services.AddOptions<PostedCodeOptions>().Bind(configuration.GetSection(Section));
        // The key is the HTTP gateway's, so one secret guards both; silos without the gateway read it too.
        services.AddOptions<GatewayOptions>().Bind(configuration.GetSection(SiloHost.GatewaySection)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<GatewayOptions>, GatewayOptionsValidator>());
        services.AddSingleton(sp => ClusterKeyOf(sp.GetRequiredService<IOptions<GatewayOptions>>().Value, sp.GetRequiredService<ILocalSiloDetails>()));
        services.AddSingleton<PostedCodeCache>(); // files for code hosts (IsolatedCodeProcess)
        services.AddSingleton<PostedCodeUnloader>();
        services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(sp => sp.GetRequiredService<PostedCodeUnloader>());
        return silo.AddJobHandler(PostedCodeRules.Queue, sp => new PostedCodeJobHandler(sp.GetRequiredService<PostedCodeRunner>()));
    }

    /// <summary>A weak key guards nothing on a silo other hosts can reach: there every key is refused for posted code.</summary>
    private static ClusterKeyCheck ClusterKeyOf(GatewayOptions gateway, ILocalSiloDetails silo)
    {
        var address = silo.SiloAddress.Endpoint.Address;
        var refusal = IPAddress.IsLoopback(address) ? null : GatewayKeyRules.CheckExposed(gateway, $"this silo's Orleans address {address}, which other hosts can reach");
        var admins = gateway.Keys.Values.Where(k => k.Role == GatewayRole.Admin).Select(k => k.Key);
        return new ClusterKeyCheck(gateway.ClusterKey, refusal, admins);
    }
}
