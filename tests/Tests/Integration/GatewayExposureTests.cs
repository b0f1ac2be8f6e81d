using System.Net;
using System.Net.Http.Json;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Jobs.Grains.Code;
using Orleans.Jobs.Silo.Gateway;

namespace Orleans.Jobs.Tests.Integration;

/// <summary>
/// Keys on addresses other hosts can reach: the development key and weak keys stop the silo on every endpoint Kestrel
/// binds (not only Gateway:Host), named keys are checked at start, and keys compare by digest in constant time.
/// </summary>
public sealed class GatewayExposureTests
{
    private const string StrongKey = "Strong-Key-9e3c5a71b2d84f06c1a7e4";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData("--Gateway:Host=0.0.0.0 --Gateway:ClusterKey=x", "Gateway:ClusterKey is too weak for Gateway:Host 0.0.0.0, which other hosts can reach: a key used off loopback needs at least 32 characters from at least 3 classes")]
    [InlineData("--Kestrel:Endpoints:Public:Url=http://0.0.0.0:0 --Gateway:ClusterKey=dev-cluster-key", "Gateway:ClusterKey must be set to a secret on the HTTP endpoint http://0.0.0.0:")]
    [InlineData("--Kestrel:Endpoints:Public:Url=http://0.0.0.0:0", "Gateway:ClusterKey is too weak for the HTTP endpoint http://0.0.0.0:")]
    [InlineData($"--Kestrel:Endpoints:Public:Url=http://0.0.0.0:0 --Gateway:ClusterKey={StrongKey} --Gateway:Keys:ci:Key=short", "Gateway:Keys:ci:Key is too weak for the HTTP endpoint")]
    [InlineData("--Gateway:Keys:ci:Key=test-cluster-key", "Gateway:Keys:ci:Key must differ from Gateway:ClusterKey: one key has one role.")]
    [InlineData("--Gateway:Keys:ops:Key=k1 --Gateway:Keys:ops:Role=Admin --Gateway:Keys:ops:Node=n1", "Gateway:Keys:ops:Node binds worker keys only")]
    [InlineData("--Gateway:Keys:ci:Key=k1 --Gateway:Keys:ci:Node=bad/node", "Node name 'bad/node' is invalid")]
    [InlineData("--Gateway:Keys:ci:Role=Worker", "Gateway:Keys:ci:Key must be 1 to 512 characters.")]
    public async Task Unfit_keys_stop_the_silo_with_a_message_naming_the_setting_and_the_rule(string arguments, string expected)
    {
        var error = await StockSilo.RefusedAsync(arguments.Split(' '));
        Assert.Contains(expected, error.Message);
        Assert.DoesNotContain(StockSilo.ClusterKey, error.Message);
        Assert.DoesNotContain(StrongKey, error.Message);
    }

    [Fact]
    public async Task Strong_keys_serve_on_every_endpoint_Kestrel_binds()
    {
        await using var app = await StockSilo.StartAsync(StockSilo.Arguments(
            "--Kestrel:Endpoints:Public:Url=http://0.0.0.0:0", $"--Gateway:ClusterKey={StrongKey}", $"--Gateway:Keys:ci:Key={new string('a', 16)}{new string('7', 16)}"));
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses;
        var wildcard = new Uri(Assert.Single(addresses, a => a.StartsWith("http://0.0.0.0:", StringComparison.Ordinal)));
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{wildcard.Port}") };
        http.DefaultRequestHeaders.Add(GatewayProtocol.ClusterKeyHeader, StrongKey);
        Assert.NotNull(await http.GetFromJsonAsync<ClusterStatus>(GatewayProtocol.ClusterPath, GatewayProtocol.Json, Ct));
    }

    [Theory]
    [InlineData("dev-cluster-key", false)]
    [InlineData("x", false)]
    [InlineData("abcdefghijklmnopqrstuvwxyzabcdefgh", false)] // long, one class
    [InlineData("Abcdefghijklmnopqrstuvwxyzabcdef", false)] // 32, two classes
    [InlineData("Abcdefghijklmnopqrstuvwxyzabcde1", true)]
    [InlineData("0123456789abcdef0123456789abcdef", true)] // 16 bytes in hex
    [InlineData("0123456789abcdef0123456789abcde", false)] // 31 hex digits
    [InlineData("q1Jm/9mE2yZ4v+Lw8bN0sT6uR3xK5cHdPaGfWiYeQo4=", true)] // openssl rand -base64 32
    public void A_key_for_other_hosts_needs_length_and_character_classes(string key, bool strong) =>
        Assert.Equal(strong, GatewayKeyRules.IsStrong(key));

    [Fact]
    public void Keys_compare_by_digest_whatever_the_length_sent()
    {
        var digest = new KeyDigest("the-key");
        Assert.True(digest.Matches("the-key"));
        Assert.False(digest.Matches("the-kez"));
        Assert.False(digest.Matches("the-key-and-more"));
        Assert.False(digest.Matches(""));
        Assert.False(digest.Matches(null));
        var check = new ClusterKeyCheck("cluster", otherAdminKeys: ["ops"]);
        Assert.True(check.Matches("ops") && check.Matches("cluster") && !check.Matches("worker"));
        Assert.False(new ClusterKeyCheck("cluster", refusal: "exposed").Matches("cluster"));
    }
}
