using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Orleans.Jobs.Silo.Gateway;
using Orleans.Jobs.Silo.Hosting;
using Orleans.Jobs.Silo.Sample;

namespace Orleans.Jobs.Tests.Integration;

/// <summary>The README's first command: the built-in sample passes every check on a fresh embedded silo.</summary>
public sealed class SampleWorkloadTests
{
    [Fact]
    public async Task The_sample_workload_passes_every_check()
    {
        var builder = SiloHost.CreateBuilder([], silo =>
        {
            SampleWorkload.Configure(silo);
            silo.Services.Configure<GatewayOptions>(o => o.Port = 0);
        });
        builder.Logging.ClearProviders();
        await using var app = builder.BuildSilo();
        await app.StartAsync(TestContext.Current.CancellationToken);

        var output = new StringWriter();
        var passed = await new SampleWorkload(app, output).RunAsync(TestContext.Current.CancellationToken);
        await app.StopAsync(TestContext.Current.CancellationToken);

        Assert.True(passed, output.ToString());
        Assert.Contains("all 12 checks passed", output.ToString());
        Assert.Contains("worker B took job", output.ToString());
    }
}
