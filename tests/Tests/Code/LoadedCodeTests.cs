using System.Runtime.CompilerServices;
using Orleans.Jobs.Grains.Code;
using Orleans.Jobs.Grains.Interfaces.Code;

namespace Orleans.Jobs.Tests.Code;

/// <summary>One loaded version alone, without a cluster: which functions run, what they return, what is refused, and unloading.</summary>
public sealed class LoadedCodeTests
{
    private static readonly byte[] Version1 = TestAssemblies.Demo(1);
    private static readonly byte[] Version2 = TestAssemblies.Demo(2);

    private static LoadedCode Load(byte[] assembly) => LoadedCode.Load(PostedCodeRules.HashOf(assembly), new PostedAssembly(assembly, null), DateTimeOffset.UtcNow);

    private static Task<string?> CallAsync(LoadedCode code, string function, string args = "{}", CancellationToken? cancellationToken = null) =>
        code.InvokeAsync(args, new PostedCallContext
        {
            Hash = code.Hash,
            Function = function,
            SiloId = "silo-1",
            JobId = 42,
            Attempt = 2,
            CancellationToken = cancellationToken ?? TestContext.Current.CancellationToken,
        });

    [Theory]
    [InlineData("Demo.Functions.Square", """{"n": 7}""", "49")]
    [InlineData("Demo.Functions.Delayed", """{"a":[1,2]}""", """{"a":[1,2]}""")]
    [InlineData("Demo.Functions.Value", "{}", "value")]
    [InlineData("Demo.Functions.Json", "{}", """{"x":3,"y":1}""")]
    [InlineData("Demo.Functions.JsonLater", "{}", """{"x":4,"y":1}""")]
    [InlineData("Demo.Functions.Nothing", "{}", null)]
    [InlineData("Demo.Functions.NothingLater", "{}", null)]
    public async Task Every_supported_shape_runs_and_its_result_is_text_or_JSON(string function, string args, string? expected) =>
        Assert.Equal(expected, await CallAsync(Load(Version1), function, args));

    [Fact]
    public async Task A_function_taking_the_call_context_gets_the_silos_own_type()
    {
        // PostedCallContext resolves from the default load context: the posted code and the silo share the type.
        var result = await CallAsync(Load(Version1), "Demo.Functions.WhereAmI");
        Assert.Equal("v1|silo-1|42|2", result);
    }

    [Fact]
    public async Task Two_versions_with_the_same_names_run_side_by_side()
    {
        var (one, two) = (Load(Version1), Load(Version2));
        Assert.Equal("49", await CallAsync(one, "Demo.Functions.Square", """{"n": 7}"""));
        Assert.Equal("98", await CallAsync(two, "Demo.Functions.Square", """{"n": 7}"""));
        Assert.Equal("49", await CallAsync(one, "Demo.Functions.Square", """{"n": 7}"""));
    }

    [Theory]
    [InlineData("Demo.Nope.Run", "has no public type 'Demo.Nope'. Its public types: Demo.Functions, Demo.Instance, Demo.Point")]
    [InlineData("Demo.Hidden.Run", "has no public type 'Demo.Hidden'")]
    [InlineData("Demo.Functions.Nope", "it has no public static method 'Nope'. Its public static methods: Delayed, Gate, Json")]
    [InlineData("Demo.Instance.Run", "its method 'Run' must be static")]
    [InlineData("Demo.Functions.Numbers", "has an unsupported signature (String Numbers(Int32, Int32)): use a public static method taking (args)")]
    [InlineData("Demo.Functions.Twice", "has 2 overloads that could run")]
    [InlineData("Demo.Functions.Throws", "Function Demo.Functions.Throws threw System.InvalidOperationException: boom")]
    public async Task What_cannot_run_is_refused_with_a_message_naming_the_problem(string function, string message)
    {
        var refused = await Assert.ThrowsAsync<PostedCodeException>(() => CallAsync(Load(Version1), function));
        Assert.Contains(message, refused.Message);
    }

    [Fact]
    public async Task A_cancelled_call_stays_a_cancellation()
    {
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => CallAsync(Load(Version1), "Demo.Functions.Delayed", cancellationToken: cancelled.Token));
    }

    [Fact]
    public async Task A_retired_version_refuses_new_calls_and_unloads_once_its_running_call_ends()
    {
        var (watch, code) = await LoadAndRunAsync();
        Assert.True(code.TryEnter(DateTimeOffset.UtcNow)); // a call still running
        Assert.True(code.Retire());
        Assert.False(code.TryEnter(DateTimeOffset.UtcNow));
        Assert.False(code.Retire());
        TestAssemblies.CollectUnloaded();
        Assert.True(watch.IsAlive, "The load context unloaded while a call was running.");

        code.Exit(DateTimeOffset.UtcNow);
        code = null!;
        await Eventually.TrueAsync(() => { TestAssemblies.CollectUnloaded(); return !watch.IsAlive; }, "the retired version's load context to be collected");
    }

    [Fact]
    public void Only_a_version_idle_since_the_given_time_retires_as_idle()
    {
        var code = Load(Version1);
        var loadedAt = code.LastUsed;
        Assert.False(code.Retire(idleSince: loadedAt)); // used at that very time
        Assert.True(code.TryEnter(loadedAt.AddMinutes(1)));
        Assert.False(code.Retire(idleSince: loadedAt.AddMinutes(2))); // a call is running
        code.Exit(loadedAt.AddMinutes(1));
        Assert.True(code.Retire(idleSince: loadedAt.AddMinutes(2)));
        Assert.False(code.TryEnter(loadedAt.AddMinutes(3)));
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static async Task<(WeakReference, LoadedCode)> LoadAndRunAsync()
    {
        var code = Load(TestAssemblies.Demo(3));
        Assert.True(code.TryEnter(DateTimeOffset.UtcNow));
        Assert.Equal("147", await CallAsync(code, "Demo.Functions.Square", """{"n": 7}"""));
        code.Exit(DateTimeOffset.UtcNow);
        return (code.WatchContext(), code);
    }
}
