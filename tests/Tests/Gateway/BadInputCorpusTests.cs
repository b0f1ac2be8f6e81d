using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using System.Text.Unicode;
using Orleans.Jobs.Silo.Gateway;
using Orleans.Jobs.Tests.Cli;

namespace Orleans.Jobs.Tests.Gateway;

[CollectionDefinition(Name)]
public sealed class InMemoryCorpusCollection : ICollectionFixture<InMemoryCorpusSilo>
{
    public const string Name = "bad-input corpus, in-memory store";
}

[CollectionDefinition(Name)]
public sealed class PostgresCorpusCollection : ICollectionFixture<PostgresCorpusSilo>
{
    public const string Name = "bad-input corpus, PostgreSQL store";
}

/// <summary>What every refusal of the corpus must look like, whichever door it came through.</summary>
public static class Refusals
{
    /// <summary>Texts that only an internal exception would show.</summary>
    private static readonly string[] Internals = ["Npgsql", "   at ", "Orleans.Runtime.", "could not be converted to System.", "--->", "Exception of type"];

    /// <summary>The message names the field (one of <paramref name="field"/>'s '|'-separated names, or the parameter) and matches the rule's pattern, and shows nothing internal.</summary>
    public static void AssertNamesFieldAndRule(string message, string? paramName, string field, string rule, string what)
    {
        Assert.True(message.Length <= GatewayErrors.MaxMessageLength + 200, $"{what}: a message of {message.Length} characters");
        foreach (var text in Internals)
            Assert.False(message.Contains(text, StringComparison.Ordinal), $"{what}: the message shows internals ({text}): {message}");
        var named = field.Length == 0 || field.Split('|').Any(f => message.Contains(f, StringComparison.Ordinal) || paramName?.Contains(f, StringComparison.Ordinal) == true);
        Assert.True(named, $"{what}: the message does not name {field} (param {paramName ?? "none"}): {message}");
        Assert.True(Regex.IsMatch(message, rule), $"{what}: the message does not state the rule /{rule}/: {message}");
    }

    public static string Cut(string text) => text.Length <= 600 ? text : $"{text[..600]}… ({text.Length} characters)";
}

/// <summary>The HTTP corpus: each request gets its status, a message naming the field and the rule, and the stored work stays as it was.</summary>
public abstract class HttpBadInputCorpusTests(CorpusSilo silo)
{
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(30);

    protected async Task RefusedAsync(string name)
    {
        var item = HttpCorpus.Cases[name];
        var body = Utf8.IsValid(item.Body) && item.Body.Length < 4 * 1024 * 1024 ? Encoding.UTF8.GetBytes(silo.Fill(Encoding.UTF8.GetString(item.Body))) : item.Body;

        var (status, text) = await silo.PostAsync(body, item.ContentType, item.ClusterKey, RequestTimeout);

        Assert.True((int)status == item.Status, $"{name}: expected {item.Status}, got {(int)status}: {Refusals.Cut(text)}");
        if (item.Status == (int)HttpStatusCode.OK)
        {
            Assert.Matches(item.Rule, text);
        }
        else
        {
            var error = JsonSerializer.Deserialize<GatewayError>(text, GatewayProtocol.Json)!;
            Refusals.AssertNamesFieldAndRule(error.Message, error.ParamName, item.Field, item.Rule, name);
            if (item.Result is not null) Assert.Matches(item.Result, error.Result?.GetRawText() ?? "(no result)");
        }

        Assert.Equal(silo.Baseline, await silo.SnapshotAsync());
    }
}

[Collection(InMemoryCorpusCollection.Name)]
public sealed class InMemoryHttpBadInputCorpusTests(InMemoryCorpusSilo silo) : HttpBadInputCorpusTests(silo)
{
    public static TheoryData<string> Cases() => HttpCorpus.Names();

    [Theory]
    [MemberData(nameof(Cases))]
    public Task A_bad_request_is_refused_clearly_and_changes_nothing(string name) => RefusedAsync(name);
}

/// <summary>The store-specific part of the HTTP corpus (NUL, names and keys, tokens, states) on PostgreSQL.</summary>
[Collection(PostgresCorpusCollection.Name)]
public sealed class PostgresHttpBadInputCorpusTests(PostgresCorpusSilo silo) : HttpBadInputCorpusTests(silo)
{
    public static TheoryData<string> Cases() => HttpCorpus.StoreSpecificNames();

    [Theory]
    [MemberData(nameof(Cases))]
    public Task A_bad_request_is_refused_clearly_and_changes_nothing(string name) => RefusedAsync(name);
}

/// <summary>The client corpus: the same rules through an Orleans client's grain calls, each refused with an <see cref="ArgumentException"/> naming the field.</summary>
public abstract class ClientBadInputCorpusTests(CorpusSilo silo)
{
    protected async Task RefusedAsync(string name)
    {
        var item = ClientCorpus.Cases[name];
        if (item.Field is null)
        {
            var result = await item.Call(silo.Client, silo.Work);
            Assert.Matches(item.Rule, JsonSerializer.Serialize(result, GatewayProtocol.Json));
        }
        else
        {
            var error = await Assert.ThrowsAnyAsync<ArgumentException>(() => item.Call(silo.Client, silo.Work));
            Refusals.AssertNamesFieldAndRule(error.Message, error.ParamName, item.Field, item.Rule, name);
        }

        Assert.Equal(silo.Baseline, await silo.SnapshotAsync());
    }
}

[Collection(InMemoryCorpusCollection.Name)]
public sealed class InMemoryClientBadInputCorpusTests(InMemoryCorpusSilo silo) : ClientBadInputCorpusTests(silo)
{
    public static TheoryData<string> Cases() => ClientCorpus.Names();

    [Theory]
    [MemberData(nameof(Cases))]
    public Task A_bad_call_is_refused_clearly_and_changes_nothing(string name) => RefusedAsync(name);
}

/// <summary>The store-specific part of the client corpus on PostgreSQL.</summary>
[Collection(PostgresCorpusCollection.Name)]
public sealed class PostgresClientBadInputCorpusTests(PostgresCorpusSilo silo) : ClientBadInputCorpusTests(silo)
{
    public static TheoryData<string> Cases() => ClientCorpus.StoreSpecificNames();

    [Theory]
    [MemberData(nameof(Cases))]
    public Task A_bad_call_is_refused_clearly_and_changes_nothing(string name) => RefusedAsync(name);
}

/// <summary>
/// The CLI corpus: the real <c>jobs</c> executable with bad arguments exits 2 (a job in the wrong state: 1) naming the
/// option and the rule, and changes nothing. The table runs four processes at a time, since each start costs seconds,
/// on a silo of its own so it runs beside the other corpora.
/// </summary>
public sealed class CliBadInputCorpusTests(InMemoryCorpusSilo silo) : IClassFixture<InMemoryCorpusSilo>
{
    [Fact]
    public async Task Bad_arguments_exit_2_naming_the_option_and_the_rule_and_change_nothing()
    {
        var failures = new List<string>();
        using var slots = new SemaphoreSlim(4);
        await Task.WhenAll(CliCorpus.Cases(silo.Work).Select(async item =>
        {
            await slots.WaitAsync(TestContext.Current.CancellationToken);
            try
            {
                var result = await JobsCli.RunAsync([.. item.Arguments, .. silo.CliConnection]);
                var problem = result.ExitCode != item.ExitCode ? $"exit {result.ExitCode}, expected {item.ExitCode}"
                    : !Regex.IsMatch(result.Error, item.Rule) ? $"stderr does not match /{item.Rule}/"
                    : result.Error.Contains("   at ", StringComparison.Ordinal) ? "stderr shows a stack trace"
                    : null;
                if (problem is not null)
                    lock (failures) failures.Add($"jobs {string.Join(' ', item.Arguments.Select(Refusals.Cut))}: {problem}{Environment.NewLine}{result}");
            }
            finally
            {
                slots.Release();
            }
        }));

        Assert.True(failures.Count == 0, string.Join(Environment.NewLine + Environment.NewLine, failures));
        Assert.Equal(silo.Baseline, await silo.SnapshotAsync());
    }
}
