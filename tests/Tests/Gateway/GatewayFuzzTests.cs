using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Orleans.Jobs.Silo.Gateway;

namespace Orleans.Jobs.Tests.Gateway;

/// <summary>
/// A bounded random-mutation fuzz of the HTTP API: valid requests with bytes flipped, inserted, deleted or repeated,
/// values swapped for other types and extreme numbers, fields dropped, repeated or invented. A fixed seed and count, so
/// a failure reproduces; each request has a deadline; no answer may be a 5xx or show internals, and the silo must be
/// healthy afterwards. The fuzz has a silo of its own: mutated requests that are still valid do change work.
/// </summary>
public sealed class GatewayFuzzTests(InMemoryCorpusSilo silo) : IClassFixture<InMemoryCorpusSilo>
{
    private const int Seed = 20_261_122;
    private const int Count = 500;
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(20);

    /// <summary>Valid requests to start from; none may block (no wait), so a mutation cannot make one hang lawfully.</summary>
    private static readonly string[] ValidRequests =
    [
        HttpCorpus.Call("jobs.queue", "fuzz", "send", "\"payload\"", """{"priority":5,"delay":"00:00:01","maxAttempts":3}"""),
        HttpCorpus.Call("jobs.queue", "fuzz", "expedite", "\"payload\""),
        HttpCorpus.Call("jobs.queue", "fuzz", "send-batch", """[{"payload":"a","options":{"priority":1},"expedite":true},{"payload":"b"}]"""),
        HttpCorpus.Call("jobs.queue", "fuzz", "claim", """{"maxJobs":2,"monitored":true,"leaseDuration":"00:00:30","owner":"fuzzer","node":"node-a"}"""),
        HttpCorpus.Call("jobs.queue", "fuzz", "finish", "{R}", "\"{RToken}\"", "\"result\""),
        HttpCorpus.Call("jobs.queue", "fuzz", "fail", "{R}", "\"{RToken}\"", "\"error\""),
        HttpCorpus.Call("jobs.queue", "fuzz", "renew-lease", "{R}", "\"{RToken}\"", "\"00:01:00\""),
        HttpCorpus.Call("jobs.queue", "fuzz", "release", "{R}", "\"{RToken}\""),
        HttpCorpus.Call("jobs.queue", "fuzz", "get-job", "{A}"),
        HttpCorpus.Call("jobs.queue", "fuzz", "get-counts"),
        HttpCorpus.Call("jobs.queue", "fuzz", "get-dead-letters", "10"),
        HttpCorpus.Call("jobs.queue", "fuzz", "requeue-dead-letter", "{D}"),
        HttpCorpus.Call("jobs.queue", "fuzz", "purge-dead-letters", "[{D},{A}]"),
        HttpCorpus.Call("jobs.queue", "fuzz", "update-settings", """{"maxAttempts":4,"retryDelay":"00:00:02"}"""),
        HttpCorpus.Call("jobs.queue", "fuzz", "configure", JsonSerializer.Serialize(CorpusSilo.Settings, GatewayProtocol.Json)),
        HttpCorpus.Call("jobs.queue", "fuzz", "get-settings"),
        HttpCorpus.Call("jobs.routing", "default", "get"),
        HttpCorpus.Call("jobs.routing", "default", "configure", """{"hub":"hub-a","mode":"Custom","links":{"a":["hub-a"],"hub-a":["a","b"]}}"""),
        HttpCorpus.Call("jobs.routing", "default", "elevate", "\"a\"", "\"fuzz\"", "\"up\"", "\"hub-a\"", """{"priority":1}"""),
    ];

    /// <summary>Values a structural mutation puts in place of another: other types, extremes, and text no store keeps.</summary>
    private static readonly string[] Replacements =
    [
        "null", "true", "0", "-1", "2147483648", "-9223372036854775809", "1e308", "1e-320", "-0.0", "\"\"", "\"\\u0000\"", "\"\\ud800\"",
        $"\"{new string('x', 100_000)}\"", new string('[', 50) + new string(']', 50), "{}", "[]", "\"00:00:00\"", "\"99999999.00:00:00\"",
        "\"00000000-0000-0000-0000-000000000000\"", "\"fuzz@elsewhere\"", "[1,2,3]", """{"unknown":1}""",
    ];

    private static readonly byte[] InterestingBytes = [0x00, (byte)'"', (byte)'{', (byte)'}', (byte)'[', (byte)']', (byte)',', (byte)':', (byte)'\\', 0xFF, 0xC3, 0x80, (byte)'@'];

    [Fact]
    public async Task Mutated_requests_never_get_a_5xx_never_hang_and_leave_the_silo_healthy()
    {
        var random = new Random(Seed);
        var failures = new List<string>();
        for (var i = 0; i < Count; i++)
        {
            var valid = silo.Fill(ValidRequests[random.Next(ValidRequests.Length)]);
            var body = Mutate(valid, random);
            var problem = await CheckAsync(body);
            if (problem is not null)
                failures.Add($"case {i}: {problem}{Environment.NewLine}  body: {Refusals.Cut(Encoding.UTF8.GetString(body))}");
        }

        Assert.True(failures.Count == 0, $"fuzz seed {Seed}, {Count} requests: {failures.Count} failed{Environment.NewLine}{string.Join(Environment.NewLine, failures)}");
        await silo.AssertHealthyAsync();
    }

    private async Task<string?> CheckAsync(byte[] body)
    {
        try
        {
            var (status, text) = await silo.PostAsync(body, "application/json", null, RequestTimeout);
            if ((int)status >= 500) return $"status {(int)status}: {Refusals.Cut(text)}";
            if ((int)status < 400) return null;
            var error = JsonSerializer.Deserialize<GatewayError>(text, GatewayProtocol.Json);
            if (error is null) return $"status {(int)status} without an error body";
            Refusals.AssertNamesFieldAndRule(error.Message, error.ParamName, "", ".", $"status {(int)status}");
            return null;
        }
        catch (OperationCanceledException) when (!TestContext.Current.CancellationToken.IsCancellationRequested)
        {
            return $"no answer within {RequestTimeout.TotalSeconds:0} s";
        }
        catch (Exception e) when (e is JsonException or Xunit.Sdk.XunitException)
        {
            return e.Message;
        }
    }

    /// <summary>One to three mutations of a valid request.</summary>
    private static byte[] Mutate(string valid, Random random)
    {
        var bytes = Encoding.UTF8.GetBytes(valid).ToList();
        for (var n = random.Next(1, 4); n > 0; n--)
        {
            switch (random.Next(8))
            {
                case 0: // flip a bit
                    var flip = random.Next(bytes.Count);
                    bytes[flip] ^= (byte)(1 << random.Next(8));
                    break;
                case 1: // insert a byte
                    bytes.Insert(random.Next(bytes.Count + 1), random.Next(2) == 0 ? InterestingBytes[random.Next(InterestingBytes.Length)] : (byte)random.Next(256));
                    break;
                case 2: // delete a few bytes
                    var at = random.Next(bytes.Count);
                    bytes.RemoveRange(at, Math.Min(random.Next(1, 9), bytes.Count - at));
                    break;
                case 3: // repeat a stretch
                    var from = random.Next(bytes.Count);
                    var stretch = bytes.GetRange(from, Math.Min(random.Next(1, 40), bytes.Count - from));
                    bytes.InsertRange(random.Next(bytes.Count + 1), stretch);
                    break;
                default:
                    bytes = [.. Encoding.UTF8.GetBytes(MutateStructure(Encoding.UTF8.GetString([.. bytes]), random))];
                    break;
            }
        }

        return [.. bytes];
    }

    /// <summary>Replaces a value, drops a field, repeats a field or invents one, somewhere in the request; text that no longer parses is left alone.</summary>
    private static string MutateStructure(string json, Random random)
    {
        try
        {
            return MutateParsed(json, JsonNode.Parse(json), random);
        }
        catch (Exception e) when (e is JsonException or ArgumentException or InvalidOperationException)
        {
            return json; // not JSON any more, or JSON that JsonNode refuses (a repeated field)
        }
    }

    private static string MutateParsed(string json, JsonNode? root, Random random)
    {

        var containers = new List<JsonNode>();
        Collect(root, containers);
        if (containers.Count == 0) return json;
        var target = containers[random.Next(containers.Count)];
        var replacement = JsonNode.Parse(Replacements[random.Next(Replacements.Length)]);
        switch (target)
        {
            case JsonObject o when o.Count > 0:
                var name = o.ElementAt(random.Next(o.Count)).Key;
                switch (random.Next(4))
                {
                    case 0: o[name] = replacement; break;
                    case 1: o.Remove(name); break;
                    case 2: o[name + "x"] = replacement; break;
                    default: return json.Replace($"\"{name}\":", $"\"{name}\":{replacement?.ToJsonString() ?? "null"},\"{name}\":", StringComparison.Ordinal);
                }

                break;
            case JsonArray a when a.Count > 0:
                var index = random.Next(a.Count);
                if (random.Next(3) == 0) a.RemoveAt(index);
                else a[index] = replacement;
                break;
            case JsonArray a:
                a.Add(replacement);
                break;
        }

        return root!.ToJsonString();
    }

    private static void Collect(JsonNode? node, List<JsonNode> containers)
    {
        switch (node)
        {
            case JsonObject o:
                containers.Add(o);
                foreach (var (_, child) in o) Collect(child, containers);
                break;
            case JsonArray a:
                containers.Add(a);
                foreach (var child in a) Collect(child, containers);
                break;
        }
    }
}
