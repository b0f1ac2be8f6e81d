using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Jobs.Silo.Hosting;

namespace Orleans.Jobs.Tests.Integration;

/// <summary>A silo refuses to start on bad configuration, and says which setting is wrong.</summary>
public sealed class SiloConfigurationTests
{
    [Theory]
    [InlineData("--Gateway:Host=0.0.0.0", "the development key is only allowed on loopback")]
    [InlineData("--Gateway:Host=example.com", "Gateway:Host must be an IP address")]
    [InlineData("--Workers:MaxConcurrency=0", "WorkerOptions.MaxConcurrency must be between 1 and 10000")]
    [InlineData("--Membership:DeathTimeout=00:00:01", "must be at least twice HeartbeatPeriod")]
    [InlineData("--Queues:Defaults:MaxAttempts=0", "QueueOptions.Defaults: MaxAttempts must be between 1 and 1000")]
    public async Task Bad_configuration_stops_the_silo_with_a_message_naming_the_setting(string argument, string expected)
    {
        var builder = SiloHost.CreateBuilder(["--Gateway:Port=0", argument]);
        builder.Logging.ClearProviders();
        var error = await Assert.ThrowsAsync<OptionsValidationException>(async () =>
        {
            await using var app = builder.BuildSilo(); // gateway options are checked here, when Kestrel is configured
            await app.StartAsync(TestContext.Current.CancellationToken);
        });
        Assert.Contains(expected, error.Message);
    }
}
