using System.Net;
using Microsoft.Extensions.Logging;
using Orleans.Jobs.Silo.Gateway;
using Orleans.Jobs.Silo.Hosting;

namespace Orleans.Jobs.Tests.Integration;

/// <summary>What a silo logs: nothing per request at the default levels, and no secret at any level.</summary>
public sealed class GatewayLogTests : PostgresSchemaTest
{
    private const string WorkerKey = "Worker-Key-3f9a1c7e5b2d4086aa91";
    private const string StorePassword = "Store-Password-7c1e9b3a";

    [Fact]
    public async Task A_request_logs_nothing_at_the_default_levels_while_the_lifecycle_lines_stay()
    {
        var log = new CapturedLog();
        await using (var silo = await StockSilo.StartAsync(StockSilo.Arguments(), log: log))
        {
            using var http = new HttpClient { BaseAddress = silo.GatewayUri() };
            http.DefaultRequestHeaders.Add(GatewayProtocol.ClusterKeyHeader, StockSilo.ClusterKey);
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(GatewayProtocol.ClusterPath, Ct)).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(GatewayProtocol.HealthPath, Ct)).StatusCode);
        }

        Assert.DoesNotContain(log.Lines, l => l.Category.StartsWith("Microsoft.AspNetCore", StringComparison.Ordinal) && l.Level >= LogLevel.Information);
        Assert.DoesNotContain(log.Lines, l => l.Level >= LogLevel.Information && l.Text.Contains(GatewayProtocol.ClusterPath));
        Assert.Contains(log.Lines, l => l.Category == "Microsoft.Hosting.Lifetime" && l.Text.Contains("Now listening on"));
    }

    [Fact]
    public async Task No_key_or_password_appears_in_any_log_line_at_any_level()
    {
        var log = new CapturedLog();
        var connection = $"{TestPostgres.ConnectionString};Password={StorePassword}"; // the test server trusts loopback, so the password is never asked for
        var arguments = StockSilo.Arguments("--connection", connection, $"--Store:Schema={Schema}",
            $"--Gateway:Keys:ci:Key={WorkerKey}", "--Logging:LogLevel:Default=Trace", "--Logging:LogLevel:Microsoft=Trace", "--Logging:LogLevel:Microsoft.AspNetCore=Trace");
        await using (var silo = await StockSilo.StartAsync(arguments, log: log))
        {
            using var http = new HttpClient { BaseAddress = silo.GatewayUri() };
            foreach (var key in new[] { StockSilo.ClusterKey, WorkerKey, "wrong-key" })
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, $"{GatewayProtocol.CallPath}?key={key}&clusterKey={key}");
                request.Headers.Add(GatewayProtocol.ClusterKeyHeader, key);
                Assert.Equal(HttpStatusCode.BadRequest, (await http.SendAsync(request, Ct)).StatusCode);
                using var call = new HttpRequestMessage(HttpMethod.Post, GatewayProtocol.CallPath)
                {
                    Content = JsonContent("""{"interface":"jobs.queue","key":"logged","method":"configure","arguments":[{}]}"""),
                };
                call.Headers.Add(GatewayProtocol.ClusterKeyHeader, key);
                await http.SendAsync(call, Ct); // 200, 403 and 401
            }
        }

        Assert.Contains(log.Lines, l => l.Level == LogLevel.Trace);
        foreach (var secret in new[] { StockSilo.ClusterKey, WorkerKey, StorePassword })
            Assert.DoesNotContain(log.Lines, l => l.Text.Contains(secret, StringComparison.Ordinal));
    }

    private static StringContent JsonContent(string json) => new(json, System.Text.Encoding.UTF8, "application/json");
}
