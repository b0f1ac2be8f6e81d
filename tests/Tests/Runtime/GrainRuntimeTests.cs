using Microsoft.Extensions.DependencyInjection;
using Orleans.Jobs.Runtime;
using Orleans.Jobs.Runtime.Hosting;
using Orleans.Jobs.Runtime.Proxies;
using Orleans.Jobs.Runtime.Storage.InMemory;
using Orleans.Jobs.Silo.Testing;

namespace Orleans.Jobs.Tests.Runtime;

/// <summary>The grain model across two silos sharing one store: proxies, turns, state.</summary>
public sealed class GrainRuntimeTests : IAsyncLifetime
{
    private readonly InMemoryClusterStore _store = new();
    private readonly ManualTimeProvider _clock = new();
    private SiloServices _siloA = null!;
    private SiloServices _siloB = null!;

    public ValueTask InitializeAsync()
    {
        _siloA = new SiloServices(_store, _clock, "a", s => s.AddGrain<ICounterGrain, CounterGrain>());
        _siloB = new SiloServices(_store, _clock, "b", s => s.AddGrain<ICounterGrain, CounterGrain>());
        return ValueTask.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        await _siloA.DisposeAsync();
        await _siloB.DisposeAsync();
    }

    private static string Key() => Guid.NewGuid().ToString("N");

    [Fact]
    public async Task GetGrain_returns_a_typed_proxy_carrying_the_grain_id()
    {
        var key = Key();
        var grain = _siloA.Grains.GetGrain<ICounterGrain>(key);
        Assert.IsAssignableFrom<GrainProxy>(grain);
        Assert.Equal(new GrainId("test.counter", key), ((GrainProxy)grain).GrainId);
        Assert.Equal(key, grain.GetPrimaryKeyString());
        Assert.Equal(1, await grain.IncrementAsync());
    }

    [Theory]
    [InlineData("")]
    [InlineData("tab\there")]
    public void Bad_grain_keys_are_refused_with_the_rule(string key)
    {
        var error = Assert.Throws<ArgumentException>(() => _siloA.Grains.GetGrain<ICounterGrain>(key));
        Assert.Contains("grain key", error.Message);
    }

    [Fact]
    public void Too_long_keys_are_refused() =>
        Assert.Contains("at most 256", Assert.Throws<ArgumentException>(() => _siloA.Grains.GetGrain<ICounterGrain>(new string('k', 257))).Message);

    [Fact]
    public void Invalid_grain_interfaces_are_refused_with_the_reason()
    {
        Assert.Contains("overloads are not allowed", Assert.Throws<InvalidOperationException>(() => _siloA.Grains.GetGrain<IOverloadedGrain>("x")).Message);
        Assert.Contains("must return Task", Assert.Throws<InvalidOperationException>(() => _siloA.Grains.GetGrain<ISyncGrain>("x")).Message);
    }

    [Fact]
    public async Task Calling_a_grain_with_no_registered_implementation_names_the_grain_type()
    {
        await using var bare = new SiloServices(_store, _clock, "bare");
        var error = await Assert.ThrowsAsync<ArgumentException>(() => bare.Grains.GetGrain<ICounterGrain>("x").GetAsync());
        Assert.Contains("test.counter", error.Message);
    }

    [Fact]
    public async Task Exceptions_thrown_by_a_grain_reach_the_caller_unchanged()
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => _siloA.Grains.GetGrain<ICounterGrain>(Key()).FailAsync("broken"));
        Assert.Equal("broken", error.Message);
    }

    [Fact]
    public async Task State_written_on_one_silo_is_read_by_the_next_turn_on_another()
    {
        var key = Key();
        var onA = _siloA.Grains.GetGrain<ICounterGrain>(key);
        var onB = _siloB.Grains.GetGrain<ICounterGrain>(key);
        for (var i = 0; i < 5; i++)
        {
            await onA.IncrementAsync();
            await onB.IncrementAsync();
        }

        Assert.Equal(10, await onA.GetAsync());
        Assert.Equal(10, await onB.GetAsync());
    }

    [Fact]
    public async Task A_write_based_on_a_stale_version_fails_loudly_and_changes_nothing()
    {
        var key = Key();
        var onA = _siloA.Grains.GetGrain<ICounterGrain>(key);
        await onA.IncrementAsync();                                 // silo A's activation saw version 1
        await _siloB.Grains.GetGrain<ICounterGrain>(key).IncrementAsync(); // version 2, written by silo B

        await Assert.ThrowsAsync<InconsistentStateException>(() => onA.IncrementOutsideTurnAsync());
        Assert.Equal(2, await onA.GetAsync());
    }

    [Fact]
    public async Task Turns_on_one_grain_never_overlap_across_silos()
    {
        var key = Key();
        var calls = Enumerable.Range(0, 16).Select(i =>
            (i % 2 == 0 ? _siloA : _siloB).Grains.GetGrain<ICounterGrain>(key).HoldTurnAsync(TimeSpan.FromMilliseconds(10)));
        await Eventually.WithinAsync(Task.WhenAll(calls).ContinueWith(_ => true), "16 turns");
        Assert.Equal(1, CounterGrain.Inside[key].Max);
    }

    [Fact]
    public async Task Interleaved_methods_run_concurrently_across_silos()
    {
        var key = Key();
        // Each call waits until all four are inside at once: this only finishes if they truly overlap.
        var calls = Enumerable.Range(0, 4).Select(i =>
            (i % 2 == 0 ? _siloA : _siloB).Grains.GetGrain<ICounterGrain>(key).HoldInterleavedAsync(4));
        await Eventually.WithinAsync(Task.WhenAll(calls).ContinueWith(_ => true), "four interleaved calls to meet");
        Assert.Equal(4, CounterGrain.Inside[key].Max);
    }

    [Fact]
    public async Task A_killed_silo_serves_no_more_calls()
    {
        _siloB.Lifetime.Kill();
        await Assert.ThrowsAsync<SiloUnavailableException>(() => _siloB.Grains.GetGrain<ICounterGrain>(Key()).GetAsync());
    }
}
