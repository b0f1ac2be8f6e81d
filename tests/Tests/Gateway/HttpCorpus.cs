using System.Text;
using System.Text.Json;

namespace Orleans.Jobs.Tests.Gateway;

/// <summary>
/// One request of the bad-input corpus and what it must get: a status, and for a refusal the field its message names
/// and a pattern of the rule (a regular expression); for an outcome (200) the result it must show. Bodies may hold the
/// placeholders of <see cref="CorpusSilo.Fill"/>.
/// </summary>
public sealed record HttpCase(string Name, byte[] Body, int Status, string Field, string Rule, string? ContentType = "application/json", string? ClusterKey = null)
{
    /// <summary>True for a case a store could answer differently (NUL, names and keys, tokens, states): these run on PostgreSQL too.</summary>
    public bool StoreSpecific { get; init; }

    /// <summary>For a 404 or 409 a grain answered: a pattern of the error's result, the outcome a 200 would have carried.</summary>
    public string? Result { get; init; }

    public override string ToString() => Name;
}

/// <summary>
/// The HTTP bad-input corpus: content types, encodings, NUL and control characters, lengths and numbers at and past
/// every limit, unknown and misspelled fields, forged and stale tokens, wrong state transitions, huge and deeply nested
/// bodies, and malformed structure. Every case aims at the seeded work of <see cref="CorpusSilo"/>, so a refusal that
/// let something through shows as changed work.
/// </summary>
public static class HttpCorpus
{
    private const string Q = CorpusSilo.Queue;
    private const string ValidSend = "\"sent by a bad request\"";

    /// <summary>Control characters that no name, owner or key may hold.</summary>
    private static readonly string[] ControlCharacters = ["\0", "\u0001", "\u001f", "\u007f", "\u0085", "\n"];

    public static IReadOnlyDictionary<string, HttpCase> Cases { get; } = Build().ToDictionary(c => c.Name);

    public static TheoryData<string> Names() => [.. Cases.Keys];

    public static TheoryData<string> StoreSpecificNames() => [.. Cases.Values.Where(c => c.StoreSpecific).Select(c => c.Name)];

    /// <summary>A JSON string literal (control characters escaped).</summary>
    public static string J(string text) => JsonSerializer.Serialize(text);

    public static string Call(string @interface, string key, string method, params string[] arguments) =>
        $$"""{"interface":{{J(@interface)}},"key":{{J(key)}},"method":{{J(method)}},"arguments":[{{string.Join(",", arguments)}}]}""";

    private static string Queue(string method, params string[] arguments) => Call("jobs.queue", Q, method, arguments);

    private static string Routing(string method, params string[] arguments) => Call("jobs.routing", "default", method, arguments);

    private static HttpCase Refused(string name, string body, string field, string rule, int status = 400) => new(name, Encoding.UTF8.GetBytes(body), status, field, rule);

    private static HttpCase Outcome(string name, string body, string result) => new(name, Encoding.UTF8.GetBytes(body), 200, "", result);

    /// <summary>A call the grain ran but that changed nothing: the job is not in the queue (404) or not the caller's to change (409).</summary>
    private static HttpCase Unapplied(string name, string body, string outcome) => outcome switch
    {
        "NotFound" => Refused(name, body, "jobId", "jobId \\d+: queue '[^']+' has no such job, and .* needs a job of the queue the key names.* Nothing changed", 404) with { Result = outcome },
        "LeaseLost" => Refused(name, body, "leaseToken", "leaseToken does not hold job \\d+ of queue '[^']+': .* needs the token of the job's current claim.* Nothing changed", 409) with { Result = outcome },
        _ => Refused(name, body, "jobId", "jobId \\d+: job \\d+ of queue '[^']+' is not dead-lettered, and requeue-dead-letter makes only a dead-lettered job available again\\. Nothing changed", 409) with { Result = outcome },
    };

    private static string Claim(string options) => Queue("claim", options);

    private static IEnumerable<HttpCase> Build() =>
    [
        .. ContentTypes(), .. Encodings(), .. ControlCharactersInNames().Select(c => c with { StoreSpecific = c.Name.StartsWith("U+0000", StringComparison.Ordinal) }),
        .. StoreSpecific(NulInText()), .. StoreSpecific(Lengths()), .. Numbers(), .. Settings(), .. UnknownFields(), .. StoreSpecific(Tokens()),
        .. StoreSpecific(WrongTransitions()), .. HugeAndNested(), .. Structure(), .. Types(),
    ];

    private static IEnumerable<HttpCase> StoreSpecific(IEnumerable<HttpCase> cases) => cases.Select(c => c with { StoreSpecific = true });

    private static IEnumerable<HttpCase> ContentTypes()
    {
        string?[] types =
        [
            null, "text/plain", "text/json", "application/xml", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
            "application/octet-stream", "application/json; charset=utf-16", "application/json; charset=iso-8859-1", "application/jsonp",
            "application/problem+xml", "image/png",
        ];
        foreach (var type in types)
            yield return new HttpCase($"content type {type ?? "(none)"}", Encoding.UTF8.GetBytes(Queue("send", ValidSend)), 415, "Content-Type", "application/json", type);
    }

    private static IEnumerable<HttpCase> Encodings()
    {
        (string Name, byte[] Bytes)[] invalid =
        [
            ("0xFF", [0xFF]), ("overlong slash C0 AF", [0xC0, 0xAF]), ("lone continuation 0x80", [0x80]), ("UTF-8 encoded surrogate ED A0 80", [0xED, 0xA0, 0x80]),
            ("past U+10FFFF F4 90 80 80", [0xF4, 0x90, 0x80, 0x80]), ("truncated E2 82", [0xE2, 0x82]), ("latin-1 e-acute E9", [0xE9]),
        ];
        foreach (var (name, bytes) in invalid)
        {
            yield return Raw($"invalid UTF-8 in a payload: {name}", Queue("send", "\"x@@y\""), bytes);
            yield return Raw($"invalid UTF-8 in a key: {name}", Call("jobs.queue", "corpus@@", "send", ValidSend), bytes);
        }

        yield return Raw("invalid UTF-8 in a field name", """{"interface":"jobs.queue","key":"corpus","method":"send","argu@@ments":["x"]}""", [0xFE]);
        yield return new HttpCase("a UTF-16 body", Encoding.Unicode.GetBytes(Queue("send", ValidSend)), 400, "body", "JSON|UTF-8");
        yield return new HttpCase("a UTF-8 body with a byte-order mark", [.. Encoding.UTF8.GetPreamble(), .. Encoding.UTF8.GetBytes(Queue("send", ValidSend))], 400, "body", "JSON");
        yield return Refused("an escaped lone high surrogate in a payload", Queue("send", "\"a\\ud800b\""), "payload", "surrogate|Unicode");
        yield return Refused("an escaped lone low surrogate in a payload", Queue("send", "\"\\udc00\""), "payload", "surrogate|Unicode");
        yield return Refused("an escaped lone surrogate in a field name", Queue("claim", """{"own\ud800er":"x"}"""), "", "not valid text|Unicode|not a field");
    }

    private static HttpCase Raw(string name, string template, byte[] bad)
    {
        var parts = template.Split("@@");
        return new HttpCase(name, [.. Encoding.UTF8.GetBytes(parts[0]), .. bad, .. Encoding.UTF8.GetBytes(parts[1])], 400, "body", "UTF-8");
    }

    private static IEnumerable<HttpCase> ControlCharactersInNames()
    {
        foreach (var c in ControlCharacters)
        {
            var shown = $"U+{(int)c[0]:X4}";
            yield return Refused($"{shown} in a claim's owner", Claim($$"""{"owner":{{J($"worker{c}1")}}}"""), "Owner", "control character");
            yield return Refused($"{shown} in a claim's node", Claim($$"""{"owner":"w","node":{{J($"node{c}a")}}}"""), "Node", "Node name");
            yield return Refused($"{shown} in a wait's owner", Queue("wait", "\"00:00:00\"", $$"""{"owner":{{J($"{c}")}}}"""), "Owner", "control character|not blank");
            yield return Refused($"{shown} in a wait's node", Queue("wait", "\"00:00:00\"", $$"""{"owner":"w","node":{{J($"{c}node-a")}}}"""), "Node", "Node name");
            yield return Refused($"{shown} in a queue key", Call("jobs.queue", $"corpus{c}", "send", ValidSend), "key", "control character");
            yield return Refused($"{shown} in the routing key", Call("jobs.routing", $"default{c}", "configure", """{"mode":"Mesh"}"""), "key", "control character");
            yield return Refused($"{shown} in elevate's fromNode", Routing("elevate", J($"spoke{c}"), J(Q), "\"x\"", J(CorpusSilo.Hub)), "fromNode", "Node name");
            yield return Refused($"{shown} in elevate's toNode", Routing("elevate", J(CorpusSilo.Hub), J(Q), "\"x\"", J($"spoke{c}")), "toNode", "Node name");
            yield return Refused($"{shown} in a routing hub", Routing("configure", $$"""{"mode":"SpokeAndWheel","hub":{{J($"hub{c}")}}}"""), "Hub", "Node name");
            yield return Refused($"{shown} in an interface alias", Call($"jobs.queue{c}", Q, "send", ValidSend), "interface", "no grain interface");
            yield return Refused($"{shown} in a method alias", Call("jobs.queue", Q, $"send{c}", ValidSend), "method", "has no method");
        }
    }

    private static IEnumerable<HttpCase> NulInText()
    {
        yield return Refused("NUL in a payload", Queue("send", J("a\0b")), "payload", "NUL");
        yield return Refused("NUL in an expedited payload", Queue("expedite", J("\0")), "payload", "NUL");
        yield return Refused("NUL in a batch's second payload", Queue("send-batch", $$"""[{"payload":"ok"},{"payload":{{J("x\0")}}}]"""), "jobs[1]", "NUL");
        yield return Refused("NUL in an elevated payload", Routing("elevate", "\"spoke-1\"", J(Q), J("\0"), J(CorpusSilo.Hub)), "payload", "NUL");
        yield return Refused("NUL in a result", Queue("finish", "{R}", "\"{RToken}\"", J("done\0")), "result", "NUL");
        yield return Refused("a raw (unescaped) control character in a JSON string", Queue("send", "\"a\u0001b\""), "body", "JSON");
        yield return Refused("a raw NUL byte in a JSON string", Queue("send", "\"a\0b\""), "body", "JSON");
    }

    private static IEnumerable<HttpCase> Lengths()
    {
        string name128 = new('q', 128), node128 = new('n', 128);
        yield return Outcome("a queue name of 128 characters (the limit) is served", Call("jobs.queue", name128, "get-counts"), "available");
        yield return Outcome("a queue@node of 128+1+128 = 257 characters (the limit) is served", Call("jobs.queue", $"{name128}@{node128}", "get-counts"), "available");
        yield return Refused("a queue name of 129 characters", Call("jobs.queue", name128 + "q", "send", ValidSend), "queue", "1 to 128");
        yield return Refused("a node name of 129 characters in a queue key", Call("jobs.queue", $"{Q}@{node128}n", "send", ValidSend), "queue", "1 to 128");
        yield return Refused("an empty queue key", Call("jobs.queue", "", "send", ValidSend), "key", "1 to 257");
        yield return Refused("a key of 258 characters", Call("jobs.queue", new string('k', 258), "send", ValidSend), "key", "1 to 257");
        yield return Refused("a key of 3,000,000 characters", Call("jobs.queue", new string('k', 3_000_000), "send", ValidSend), "key", "1 to 257");
        yield return Refused("a queue name with a slash", Call("jobs.queue", "corpus/x", "send", ValidSend), "queue", "Queue name");
        yield return Refused("a queue name with two @", Call("jobs.queue", "corpus@a@b", "send", ValidSend), "queue", "Queue name");
        yield return Refused("a node name with ':'", Call("jobs.queue", "corpus@a:b", "send", ValidSend), "queue", "Queue name");
        yield return Refused("a queue name with non-ASCII letters", Call("jobs.queue", "córpus", "send", ValidSend), "queue", "Queue name");
        yield return Outcome("an owner of 128 characters (the limit) claims from an empty queue", Call("jobs.queue", CorpusSilo.EmptyQueue, "claim", $$"""{"owner":"{{new string('o', 128)}}"}"""), "\"result\":\\[\\]");
        yield return Refused("an owner of 129 characters", Claim($$"""{"owner":"{{new string('o', 129)}}"}"""), "Owner", "1 to 128");
        yield return Refused("an empty owner", Claim("""{"owner":""}"""), "Owner", "1 to 128");
        yield return Refused("a blank owner", Claim("""{"owner":"   "}"""), "Owner", "not blank");
        yield return Outcome("a node of 128 characters (the limit) claims from an empty queue", Call("jobs.queue", CorpusSilo.EmptyQueue, "claim", $$"""{"owner":"w","node":"{{node128}}"}"""), "\"result\":\\[\\]");
        yield return Refused("a node of 129 characters", Claim($$"""{"owner":"w","node":"{{node128}}n"}"""), "Node", "1 to 128");
        yield return Refused("an empty node", Claim("""{"owner":"w","node":""}"""), "Node", "1 to 128");
        yield return Refused("a payload of 1 MiB + 1 bytes", Queue("send", J(new string('p', 1024 * 1024 + 1))), "payload", "limit is 1048576");
        yield return Refused("a payload of 1 MiB + 2 bytes in three-byte characters", Queue("send", J(new string('€', 349_526))), "payload", "limit is 1048576");
        yield return Refused("a result of 1 MiB + 1 bytes", Queue("finish", "{R}", "\"{RToken}\"", J(new string('r', 1024 * 1024 + 1))), "result", "limit is 1048576");
        yield return Refused("an elevated payload of 1 MiB + 1 bytes", Routing("elevate", "\"spoke-1\"", J(Q), J(new string('p', 1024 * 1024 + 1)), J(CorpusSilo.Hub)), "payload", "limit is 1048576");
        yield return Refused("a batch of no jobs", Queue("send-batch", "[]"), "jobs", "1 to 10000");
        yield return Refused("a batch of 10,001 jobs", Queue("send-batch", $"[{string.Join(",", Enumerable.Repeat("""{"payload":"x"}""", 10_001))}]"), "jobs", "more than 10000");
        yield return Refused("a purge of no ids", Queue("purge-dead-letters", "[]"), "jobIds", "1 to 10000");
        yield return Refused("a purge of 10,001 ids", Queue("purge-dead-letters", $"[{string.Join(",", Enumerable.Range(1, 10_001))}]"), "jobIds", "more than 10000");
        yield return Outcome("a dead-letter listing of 1,000 (the limit)", Queue("get-dead-letters", "1000"), "seeded failure");
        yield return Refused("a dead-letter listing of 1,001", Queue("get-dead-letters", "1001"), "limit", "between 1 and 1000");
        yield return Refused("a dead-letter listing of 0", Queue("get-dead-letters", "0"), "limit", "between 1 and 1000");
        yield return Refused("an interface alias of 300 characters", Call(new string('i', 300), Q, "send", ValidSend), "interface", "no grain interface");
        yield return Refused("a method alias of 2,000,000 characters", Call("jobs.queue", Q, new string('m', 2_000_000), ValidSend), "method", "has no method");
        yield return Refused("a routing link from a node of 129 characters", Routing("configure", $$$"""{"mode":"Custom","links":{"{{{node128}}}n":["a"]}}"""), "Links", "Node name");
        yield return Refused("a routing link to a node with a space", Routing("configure", """{"mode":"Custom","links":{"a":["b c"]}}"""), "Links", "Node name");
        yield return Refused("a routing hub of 129 characters", Routing("configure", $$"""{"mode":"SpokeAndWheel","hub":"{{node128}}n"}"""), "Hub", "1 to 128");
    }

    private static IEnumerable<HttpCase> Numbers()
    {
        (string Value, string Rule)[] priorities =
        [
            ("1000001", "between -1000000 and 1000000"), ("-1000001", "between -1000000 and 1000000"), ("2147483648", "whole number"),
            ("-2147483649", "whole number"), ("1.5", "whole number"), ("1e3", "whole number"), ("\"5\"", "whole number"), ("true", "whole number"),
            ("null", "must not be null"), ("99999999999999999999999999", "whole number"), ("-0.0", "whole number"), ("1E400", "whole number"),
        ];
        foreach (var (value, rule) in priorities)
            yield return Refused($"priority {value}", Queue("send", "\"x\"", $$"""{"priority":{{value}}}"""), "priority|Priority", rule);
        foreach (var value in new[] { "0", "1001", "-1", "2147483648" })
            yield return Refused($"a send's maxAttempts {value}", Queue("send", "\"x\"", $$"""{"maxAttempts":{{value}}}"""), "MaxAttempts|maxAttempts", "between 1 and 1000|whole number");
        (string Value, string Rule)[] delays =
        [
            ("\"-00:00:01\"", "between 0 and"), ("\"365.00:00:01\"", "between 0 and"), ("\"abc\"", "duration"), ("5", "duration"),
            ("\"99999999.00:00:00\"", "duration"), ("\"00:60:00\"", "duration"), ("{}", "duration"),
        ];
        foreach (var (value, rule) in delays)
            yield return Refused($"a send's delay {value}", Queue("expedite", "\"x\"", $$"""{"delay":{{value}}}"""), "Delay|delay", rule);
        foreach (var value in new[] { "0", "1001", "-5", "2147483648", "1.0" })
            yield return Refused($"a claim's maxJobs {value}", Claim($$"""{"owner":"w","maxJobs":{{value}}}"""), "MaxJobs|maxJobs", "between 1 and 1000|whole number");
        foreach (var value in new[] { "\"00:00:00.0500000\"", "\"1.00:00:01\"", "\"-00:00:01\"", "60" })
            yield return Refused($"a claim's leaseDuration {value}", Claim($$"""{"owner":"w","leaseDuration":{{value}}}"""), "leaseDuration", "between|duration");
        foreach (var value in new[] { "\"-00:00:01\"", "\"00:05:00.0000001\"", "\"1.00:00:00\"", "30", "null" })
            yield return Refused($"a wait's timeout {value}", Queue("wait", value, """{"owner":"w"}"""), "timeout", "between 0 and|duration|must not be null");
        yield return Refused("a renewal's lease of 50 ms", Queue("renew-lease", "{R}", "\"{RToken}\"", "\"00:00:00.0500000\""), "leaseDuration", "between");
        yield return Refused("a renewal's lease of 25 hours", Queue("renew-lease", "{R}", "\"{RToken}\"", "\"1.01:00:00\""), "leaseDuration", "between");
        (string Value, string Rule)[] jobIds =
        [
            ("0", "positive"), ("-1", "positive"), ("9223372036854775808", "whole number"), ("1.5", "whole number"), ("\"{R}\"", "whole number"),
            ("null", "must not be null"), ("true", "whole number"), ("[{R}]", "whole number"),
        ];
        foreach (var (value, rule) in jobIds)
            yield return Refused($"finish with jobId {value}", Queue("finish", value, "\"{RToken}\""), "jobId", rule);
        yield return Refused("get-job -1", Queue("get-job", "-1"), "jobId", "positive");
        yield return Refused("requeue 0", Queue("requeue-dead-letter", "0"), "jobId", "positive");
        yield return Refused("a purge naming id 0", Queue("purge-dead-letters", "[{D},0]"), "jobIds", "positive");
        yield return Refused("a purge naming id -7", Queue("purge-dead-letters", "[-7]"), "jobIds", "positive");
        yield return Refused("a dead-letter listing of 2147483648", Queue("get-dead-letters", "2147483648"), "limit", "whole number");
        foreach (var value in new[] { "7", "-1", "\"Star\"", "\"\"", "1.5" })
            yield return Refused($"a routing mode {value}", Routing("configure", $$"""{"mode":{{value}}}"""), "Mode|mode", "Mesh, SpokeAndWheel, Custom");
    }

    private static IEnumerable<HttpCase> Settings()
    {
        (string Field, string Below, string Above)[] ranges =
        [
            ("maxAttempts", "0", "1001"), ("leaseDuration", "\"00:00:00.0500000\"", "\"1.00:00:01\""), ("retryDelay", "\"-00:00:01\"", "\"7.00:00:01\""),
            ("maxRetryDelay", "\"00:00:00\"", "\"7.00:00:01\""), ("monitorPeriod", "\"00:00:00.5000000\"", "\"1.00:00:01\""),
            ("completedRetention", "\"-00:00:01\"", "\"3650.00:00:01\""), ("deadLetterRetention", "\"-1.00:00:00\"", "\"3651.00:00:00\""),
            ("retryPriorityDrop", "-1", "2000001"),
        ];
        var full = JsonSerializer.Serialize(CorpusSilo.Settings, Silo.Gateway.GatewayProtocol.Json);
        foreach (var (field, below, above) in ranges)
        {
            var property = char.ToUpperInvariant(field[0]) + field[1..];
            yield return Refused($"update-settings {field} below its range", Queue("update-settings", $$"""{"{{field}}":{{below}}}"""), property, "must be between");
            yield return Refused($"update-settings {field} above its range", Queue("update-settings", $$"""{"{{field}}":{{above}}}"""), property, "must be between");
            yield return Refused($"configure {field} above its range", Queue("configure", WithField(full, field, above)), property, "must be between");
            yield return Refused($"configure without {field}", Queue("configure", WithoutField(full, field)), field, "is missing");
        }

        yield return Refused("configure with an empty object", Queue("configure", "{}"), "settings", "is missing");
        yield return Refused("update-settings with a string", Queue("update-settings", "\"maxAttempts=3\""), "changes", "must be an object");
        yield return Refused("configure with null", Queue("configure", "null"), "settings", "null|must not be");
    }

    private static string WithoutField(string json, string field) => Edit(json, o => o.Remove(field));

    private static string WithField(string json, string field, string value) => Edit(json, o => o[field] = System.Text.Json.Nodes.JsonNode.Parse(value));

    private static string Edit(string json, Action<System.Text.Json.Nodes.JsonObject> edit)
    {
        var node = System.Text.Json.Nodes.JsonNode.Parse(json)!.AsObject();
        edit(node);
        return node.ToJsonString();
    }

    private static IEnumerable<HttpCase> UnknownFields()
    {
        yield return Refused("update-settings with maxAttemps (misspelled)", Queue("update-settings", """{"maxAttemps":3}"""), "changes.maxAttemps", "not a field of QueueSettingsChanges");
        yield return Refused("update-settings with a known and an unknown field", Queue("update-settings", """{"maxAttempts":3,"leaseDurration":"00:01:00"}"""), "leaseDurration", "not a field");
        yield return Refused("configure with maxAttemps (misspelled)", Queue("configure", JsonSerializer.Serialize(CorpusSilo.Settings, Silo.Gateway.GatewayProtocol.Json).Replace("maxAttempts", "maxAttemps", StringComparison.Ordinal)), "maxAttemps", "not a field");
        yield return Refused("send options with prority", Queue("send", "\"x\"", """{"prority":5}"""), "options.prority", "not a field of SendOptions");
        yield return Refused("send options with a trailing space in a name", Queue("send", "\"x\"", """{"priority ":5}"""), "options.priority ", "not a field");
        yield return Refused("send options with delays", Queue("send", "\"x\"", """{"delays":"00:00:01"}"""), "delays", "not a field");
        yield return Refused("claim options with maxJob", Claim("""{"owner":"w","maxJob":2}"""), "maxJob", "not a field of ClaimOptions");
        yield return Refused("claim options with leaseDurations", Claim("""{"owner":"w","leaseDurations":"00:01:00"}"""), "leaseDurations", "not a field");
        yield return Refused("claim options with nodes", Claim("""{"owner":"w","nodes":"a"}"""), "nodes", "not a field");
        yield return Refused("a batch job with expidite", Queue("send-batch", """[{"payload":"x","expidite":true}]"""), "jobs[0].expidite", "not a field of JobMessage");
        yield return Refused("a batch job with payloads", Queue("send-batch", """[{"payloads":"x"}]"""), "payloads", "not a field");
        yield return Refused("a routing table with hubs", Routing("configure", """{"mode":"Mesh","hubs":"x"}"""), "hubs", "not a field of RoutingTable");
        yield return Refused("a routing table with link", Routing("configure", """{"mode":"Custom","link":{}}"""), "link", "not a field");
        yield return Refused("a call with interfase", """{"interfase":"jobs.queue","key":"corpus","method":"send","arguments":["x"]}""", "interfase", "not a field of a grain call");
        yield return Refused("a call with args", """{"interface":"jobs.queue","key":"corpus","method":"send","args":["x"]}""", "args", "not a field of a grain call");
        yield return Refused("a call with an extra id", """{"interface":"jobs.queue","key":"corpus","method":"send","arguments":["x"],"id":1}""", "id", "not a field");
        yield return Refused("a call with key twice", """{"interface":"jobs.queue","key":"corpus-other","key":"corpus","method":"send","arguments":["x"]}""", "key", "appears twice");
        yield return Refused("a call with Key and key", """{"interface":"jobs.queue","Key":"corpus-other","key":"corpus","method":"send","arguments":["x"]}""", "key", "appears twice");
        yield return Refused("a call with arguments twice", """{"interface":"jobs.queue","key":"corpus","method":"send","arguments":["x"],"arguments":["y"]}""", "arguments", "appears twice");
        yield return Refused("claim options with owner twice", Claim("""{"owner":"a","owner":"b"}"""), "Owner|owner", "appears twice");
        yield return Refused("a routing link listed twice", Routing("configure", """{"mode":"Custom","links":{"a":["b"],"a":["c"]}}"""), "links", "appears twice");
    }

    private static IEnumerable<HttpCase> Tokens()
    {
        var forged = $"\"{Guid.NewGuid()}\"";
        // A token of the right shape that no claim gave, and the token of a claim that was given back before the job was claimed again.
        foreach (var (job, token, which) in new[] { ("{R}", forged, "a forged token"), ("{X}", "\"{XStaleToken}\"", "a stale token after a reclaim") })
        {
            yield return Unapplied($"finish with {which}", Queue("finish", job, token, "\"x\""), "LeaseLost");
            yield return Unapplied($"fail with {which}", Queue("fail", job, token, "\"x\""), "LeaseLost");
            yield return Unapplied($"release with {which}", Queue("release", job, token), "LeaseLost");
            yield return Unapplied($"renew with {which}", Queue("renew-lease", job, token), "LeaseLost");
        }

        // Settling is idempotent: the token that finished or dead-lettered a job gets the same outcome again, and nothing changes.
        yield return Outcome("finish a completed job with its old token", Queue("finish", "{C}", "\"{CToken}\""), "Updated");
        yield return Outcome("fail a dead-lettered job with its old token", Queue("fail", "{D}", "\"{DToken}\"", "\"again\""), "DeadLettered");
        yield return Unapplied("finish a completed job with a forged token", Queue("finish", "{C}", forged), "LeaseLost");
        yield return Unapplied("fail a dead-lettered job with a forged token", Queue("fail", "{D}", forged, "\"again\""), "LeaseLost");
        yield return Unapplied("finish a dead-lettered job with the token that failed it", Queue("finish", "{D}", "\"{DToken}\""), "LeaseLost");
        yield return Unapplied("release a completed job with its old token", Queue("release", "{C}", "\"{CToken}\""), "LeaseLost");
        yield return Unapplied("renew a completed job with its old token", Queue("renew-lease", "{C}", "\"{CToken}\""), "LeaseLost");
        yield return Unapplied("renew a scheduled job with the running job's token", Queue("renew-lease", "{S}", "\"{RToken}\""), "LeaseLost");
        yield return Unapplied("fail an available job with the running job's token", Queue("fail", "{A}", "\"{RToken}\"", "\"x\""), "LeaseLost");
        yield return Unapplied("finish the running job from another queue", Call("jobs.queue", "corpus-other", "finish", "{R}", "\"{RToken}\""), "NotFound");
        yield return Unapplied("finish a job that does not exist", Queue("finish", "999999999", "\"{RToken}\""), "NotFound");
        yield return Unapplied("fail a job that does not exist", Queue("fail", "999999999", "\"{RToken}\"", "\"x\""), "NotFound");
        yield return Unapplied("release a job that does not exist", Queue("release", "999999999", "\"{RToken}\""), "NotFound");
        yield return Unapplied("renew a job that does not exist", Queue("renew-lease", "999999999", "\"{RToken}\""), "NotFound");
        yield return Refused("finish with the empty token", Queue("finish", "{R}", "\"00000000-0000-0000-0000-000000000000\""), "leaseToken", "empty");
        foreach (var token in new[] { "\"not-a-guid\"", "123", "\"{RToken}x\"", "\"\"", "null", "\"{RToken}\",\"extra\",\"more\"" })
            yield return Refused($"finish with token {token}", Queue("finish", "{R}", token), "leaseToken|arguments", "GUID|must not be null|takes 2 to 3");
        yield return new HttpCase("no cluster key", Encoding.UTF8.GetBytes(Queue("send", ValidSend)), 401, "", "key is missing or wrong", ClusterKey: "");
        yield return new HttpCase("a wrong cluster key", Encoding.UTF8.GetBytes(Queue("send", ValidSend)), 401, "", "key is missing or wrong", ClusterKey: "test-cluster-kez");
        yield return new HttpCase("the cluster key in capitals", Encoding.UTF8.GetBytes(Queue("send", ValidSend)), 401, "", "key is missing or wrong", ClusterKey: "TEST-CLUSTER-KEY");
    }

    private static IEnumerable<HttpCase> WrongTransitions()
    {
        foreach (var job in new[] { "A", "S", "R", "C", "X" })
            yield return Unapplied($"requeue a job that is not dead-lettered ({job})", Queue("requeue-dead-letter", $"{{{job}}}"), "NotDeadLettered");
        yield return Unapplied("requeue a job that does not exist", Queue("requeue-dead-letter", "999999999"), "NotFound");
        yield return Unapplied("requeue the node-local job through another queue", Queue("requeue-dead-letter", "{L}"), "NotFound");
        yield return Outcome("purge jobs that are not dead letters", Queue("purge-dead-letters", "[{A},{S},{R},{C}]"), "\"result\":0");
        yield return Refused("claim a node-local queue from another node", Call("jobs.queue", CorpusSilo.LocalQueue, "claim", """{"owner":"w","node":"node-b"}"""), "Node", "local to node 'node-a'");
        yield return Refused("claim a node-local queue naming no node", Call("jobs.queue", CorpusSilo.LocalQueue, "claim", """{"owner":"w"}"""), "Node", "local to node 'node-a'");
        yield return Refused("wait on a node-local queue from another node", Call("jobs.queue", CorpusSilo.LocalQueue, "wait", "\"00:00:00\"", """{"owner":"w","node":"node-b"}"""), "Node", "local to node");
        yield return Refused("elevate to q@elsewhere", Routing("elevate", "\"spoke-1\"", J($"{Q}@elsewhere"), "\"x\"", J(CorpusSilo.Hub)), "queue", "without a node");
        yield return Refused("elevate to q@elsewhere with no target", Routing("elevate", "\"spoke-1\"", J($"{Q}@elsewhere"), "\"x\""), "queue", "without a node");
        yield return Refused("elevate from a spoke to a spoke", Routing("elevate", "\"spoke-1\"", J(Q), "\"x\"", "\"spoke-2\""), "toNode", "no such route");
        yield return Refused("elevate from the hub to itself", Routing("elevate", J(CorpusSilo.Hub), J(Q), "\"x\""), "toNode", "no such route");
        yield return Refused("a spoke-and-wheel table without a hub", Routing("configure", """{"mode":"SpokeAndWheel"}"""), "Hub", "needs a Hub");
        yield return Refused("links on a mesh", Routing("configure", """{"mode":"Mesh","links":{"a":["b"]}}"""), "Links", "only used by Custom");
    }

    private static IEnumerable<HttpCase> HugeAndNested()
    {
        yield return Refused("17 arguments", Queue("send", [.. Enumerable.Repeat("0", 17)]), "arguments", "more than 16");
        yield return Refused("a million zero arguments", Queue("send", [.. Enumerable.Repeat("0", 1_000_000)]), "arguments", "more than 16");
        yield return Refused("ten million zero arguments in 20 MB", Queue("send", [.. Enumerable.Repeat("0", 10_000_000)]), "arguments", "more than 16");
        yield return Refused("a body of 25 MB", Queue("send", J(new string('x', 25 * 1024 * 1024))), "body", "too large", status: 413);
        foreach (var depth in new[] { 17, 100, 10_000, 100_000 })
            yield return Refused($"arrays nested {depth} deep", Queue("send", new string('[', depth) + new string(']', depth)), "body", "JSON");
        yield return Refused("objects nested 5,000 deep in an option", Queue("send", "\"x\"", string.Concat(Enumerable.Repeat("{\"a\":", 5_000)) + "1" + new string('}', 5_000)), "body", "JSON");
        yield return Refused("a payload that is an array of a million numbers", Queue("send", $"[{string.Join(",", Enumerable.Repeat("1", 1_000_000))}]"), "payload", "must be a string");
        yield return Refused("routing links with 10,001 nodes", Routing("configure", Links(Enumerable.Range(0, 10_001).Select(i => $"\"n{i}\":[]"))), "links", "more than 10000");
        yield return Refused("routing links with 101,000 values", Routing("configure", Links(Enumerable.Range(0, 1_000).Select(i => $"\"n{i}\":[{string.Join(",", Enumerable.Repeat("\"b\"", 100))}]"))), "", "more than 100000 JSON values");
        yield return Refused("a batch of 20,000 empty objects", Queue("send-batch", $"[{string.Join(",", Enumerable.Repeat("{}", 20_000))}]"), "jobs", "more than 10000");
        yield return Refused("a payload of 3 MB", Queue("send", J(new string('p', 3_000_000))), "payload", "limit is 1048576");
        yield return Refused("a job id of 2 MB of digits", Queue("get-job", new string('9', 2_000_000)), "jobId", "whole number");
        yield return Refused("a field name of 2 MB", Claim($$"""{"{{new string('f', 2_000_000)}}":1}"""), "options", "not a field");
    }

    private static string Links(IEnumerable<string> entries) => $"{{\"mode\":\"Custom\",\"links\":{{{string.Join(",", entries)}}}}}";

    private static IEnumerable<HttpCase> Structure()
    {
        (string Name, string Body, string Field, string Rule)[] bodies =
        [
            ("an empty body", "", "body", "JSON"), ("a blank body", "   ", "body", "JSON"), ("null", "null", "body", "JSON object"),
            ("an array body", "[]", "body", "JSON object"), ("a string body", "\"send\"", "body", "JSON object"), ("a number body", "42", "body", "JSON object"),
            ("an unterminated object", "{", "body", "JSON"), ("an empty object", "{}", "interface", "is missing"),
            ("a call without arguments", """{"interface":"jobs.queue","key":"corpus","method":"send"}""", "arguments", "is missing"),
            ("a call without a key", """{"interface":"jobs.queue","method":"send","arguments":["x"]}""", "key", "is missing"),
            ("a call without a method", """{"interface":"jobs.queue","key":"corpus","arguments":["x"]}""", "method", "is missing"),
            ("trailing text", Queue("send", ValidSend) + "x", "body", "JSON"), ("two objects", Queue("send", ValidSend) + Queue("send", ValidSend), "body", "JSON|one JSON object"),
            ("a comment", "/* hi */" + Queue("send", ValidSend), "body", "JSON"), ("a trailing comma", Queue("send", ValidSend)[..^1] + ",}", "body", "JSON"),
            ("single quotes", "{'interface':'jobs.queue','key':'corpus','method':'send','arguments':['x']}", "body", "JSON"),
            ("NaN", Queue("send", "\"x\"", """{"priority":NaN}"""), "body", "JSON"), ("an unterminated string", """{"interface":"jobs.queue""", "body", "JSON"),
            ("interface as a number", """{"interface":5,"key":"corpus","method":"send","arguments":["x"]}""", "interface", "JSON string"),
            ("key as null", """{"interface":"jobs.queue","key":null,"method":"send","arguments":["x"]}""", "key", "JSON string"),
            ("method as an array", """{"interface":"jobs.queue","key":"corpus","method":[],"arguments":["x"]}""", "method", "JSON string"),
            ("arguments as an object", """{"interface":"jobs.queue","key":"corpus","method":"send","arguments":{"payload":"x"}}""", "arguments", "JSON array"),
            ("arguments as a string", """{"interface":"jobs.queue","key":"corpus","method":"send","arguments":"x"}""", "arguments", "JSON array"),
            ("arguments as null", """{"interface":"jobs.queue","key":"corpus","method":"send","arguments":null}""", "arguments", "JSON array"),
            ("an unknown interface", Call("jobs.nothing", Q, "send", ValidSend), "interface", "no grain interface"),
            ("a .NET interface name", Call("Orleans.Jobs.Grains.Interfaces.IQueueGrain", Q, "send", ValidSend), "interface", "no grain interface"),
            ("a .NET method name", Queue("SendAsync", ValidSend), "method", "has no method"),
            ("an unserved interface (queue control)", Call("jobs.queue-control", Q, "configure", "{}"), "interface", "no grain interface"),
            ("send with no arguments", Queue("send"), "arguments", "takes 1 to 2 arguments"),
            ("send with three arguments", Queue("send", "\"x\"", "null", "null"), "arguments", "takes 1 to 2 arguments"),
            ("claim with no arguments", Queue("claim"), "arguments", "takes 1 arguments"),
            ("finish with four arguments", Queue("finish", "{R}", "\"{RToken}\"", "\"x\"", "\"y\""), "arguments", "takes 2 to 3 arguments"),
            ("get-counts with an argument", Queue("get-counts", "1"), "arguments", "takes 0 arguments"),
        ];
        foreach (var (name, body, field, rule) in bodies) yield return Refused(name, body, field, rule);
    }

    private static IEnumerable<HttpCase> Types()
    {
        (string Name, string Body, string Field, string Rule)[] calls =
        [
            ("a payload as a number", Queue("send", "5"), "payload", "must be a string"), ("a payload as an object", Queue("send", "{}"), "payload", "must be a string"),
            ("a payload as true", Queue("send", "true"), "payload", "must be a string"), ("a payload as null", Queue("send", "null"), "payload", "must not be null"),
            ("send options as a string", Queue("send", "\"x\"", "\"high\""), "options", "must be an object"),
            ("send options as an array", Queue("send", "\"x\"", "[]"), "options", "must be an object"),
            ("a batch as an object", Queue("send-batch", """{"payload":"x"}"""), "jobs", "must be an array"),
            ("a batch as a string", Queue("send-batch", "\"x\""), "jobs", "must be an array"),
            ("a batch of numbers", Queue("send-batch", "[5]"), "jobs[0]", "must be an object"),
            ("a batch with a null job", Queue("send-batch", """[{"payload":"x"},null]"""), "jobs[1]", "null"),
            ("a batch job without a payload", Queue("send-batch", """[{"expedite":true}]"""), "payload", "must not be null"),
            ("a batch job with expedite as a string", Queue("send-batch", """[{"payload":"x","expedite":"yes"}]"""), "jobs[0].expedite", "true or false"),
            ("claim options as null", Claim("null"), "options", "must not be null|null"),
            ("claim options as an array", Claim("[]"), "options", "must be an object"),
            ("claim with monitored as 1", Claim("""{"owner":"w","monitored":1}"""), "options.monitored", "true or false"),
            ("claim with owner as a number", Claim("""{"owner":5}"""), "options.owner", "must be a string"),
            ("claim with owner as null", Claim("""{"owner":null}"""), "Owner", "1 to 128"),
            ("a purge id as a string", Queue("purge-dead-letters", "[\"{D}\"]"), "jobIds[0]", "whole number"),
            ("a purge id as null", Queue("purge-dead-letters", "[null]"), "jobIds[0]", "must not be null"),
            ("a purge id list as an object", Queue("purge-dead-letters", "{}"), "jobIds", "must be an array"),
            ("a routing table as an array", Routing("configure", "[]"), "table", "must be an object"),
            ("routing links as an array", Routing("configure", """{"mode":"Custom","links":[]}"""), "links", "must be an object"),
            ("routing link targets as a string", Routing("configure", """{"mode":"Custom","links":{"a":"b"}}"""), "links", "must be an array"),
            ("routing link targets with null", Routing("configure", """{"mode":"Custom","links":{"a":[null]}}"""), "Links", "Node name"),
            ("a fail error as an object", Queue("fail", "{R}", "\"{RToken}\"", "{}"), "error", "must be a string"),
            ("a wait timeout as a GUID", Queue("wait", "\"{RToken}\"", """{"owner":"w"}"""), "timeout", "duration"),
            ("elevate with a payload as an array", Routing("elevate", "\"spoke-1\"", J(Q), "[]", J(CorpusSilo.Hub)), "payload", "must be a string"),
            ("elevate with options as a number", Routing("elevate", "\"spoke-1\"", J(Q), "\"x\"", J(CorpusSilo.Hub), "3"), "options", "must be an object"),
        ];
        foreach (var (name, body, field, rule) in calls) yield return Refused(name, body, field, rule);
    }
}
