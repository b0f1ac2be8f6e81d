using Microsoft.Extensions.DependencyInjection;
using Orleans.Jobs.Runtime.Hosting;
using Orleans.Jobs.Runtime.Storage.InMemory;
using Orleans.Jobs.Silo.Testing;

namespace Orleans.Jobs.Tests.Runtime;

/// <summary>Reminders on three silos sharing a store, with time moved by hand.</summary>
public sealed class ReminderTests : IAsyncLifetime
{
    private readonly InMemoryClusterStore _store = new();
    private readonly ManualTimeProvider _clock = new();
    private readonly List<SiloServices> _silos = [];

    public ValueTask InitializeAsync()
    {
        for (var i = 0; i < 3; i++)
            _silos.Add(new SiloServices(_store, _clock, $"silo{i}", s => s.AddGrain<ICounterGrain, CounterGrain>()));
        return ValueTask.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var silo in _silos) await silo.DisposeAsync();
    }

    private async Task<int> TickAllSilosAsync() =>
        (await Task.WhenAll(_silos.Select(s => s.Reminders.TickOnceAsync(CancellationToken.None)))).Sum();

    [Fact]
    public async Task Each_tick_is_delivered_by_exactly_one_silo()
    {
        var key = Guid.NewGuid().ToString("N");
        await _silos[0].Grains.GetGrain<ICounterGrain>(key).StartTickingAsync(TimeSpan.FromSeconds(10));
        var start = _clock.GetUtcNow();
        Assert.Equal(0, await TickAllSilosAsync());

        for (var period = 1; period <= 6; period++)
        {
            _clock.Advance(TimeSpan.FromSeconds(10));
            Assert.Equal(1, await TickAllSilosAsync());
        }

        var ticks = CounterGrain.Ticks[key].Select(t => t.Tick).ToList();
        Assert.Equal(Enumerable.Range(1, 6).Select(p => start + TimeSpan.FromSeconds(10 * p)), ticks);
    }

    [Fact]
    public async Task Reminders_are_durable_and_stop_when_unregistered()
    {
        var key = Guid.NewGuid().ToString("N");
        await _silos[0].Grains.GetGrain<ICounterGrain>(key).StartTickingAsync(TimeSpan.FromSeconds(5));
        await _silos[0].DisposeAsync(); // the registering silo goes away; the reminder lives on in the store
        _silos.RemoveAt(0);

        _clock.Advance(TimeSpan.FromSeconds(5));
        Assert.Equal(1, await TickAllSilosAsync());
        Assert.DoesNotContain(CounterGrain.Ticks[key], t => t.Silo == "silo0");

        await _silos[0].Grains.GetGrain<ICounterGrain>(key).StopTickingAsync();
        _clock.Advance(TimeSpan.FromSeconds(30));
        Assert.Equal(0, await TickAllSilosAsync());
        Assert.Single(CounterGrain.Ticks[key]);
    }

    [Fact]
    public async Task A_killed_silo_ticks_nothing()
    {
        var key = Guid.NewGuid().ToString("N");
        await _silos[0].Grains.GetGrain<ICounterGrain>(key).StartTickingAsync(TimeSpan.FromSeconds(5));
        foreach (var silo in _silos.Skip(1)) silo.Lifetime.Kill();
        _clock.Advance(TimeSpan.FromSeconds(5));

        Assert.Equal(0, await _silos[1].Reminders.TickOnceAsync(CancellationToken.None));
        Assert.Equal(1, await _silos[0].Reminders.TickOnceAsync(CancellationToken.None));
        Assert.Equal("silo0", Assert.Single(CounterGrain.Ticks[key]).Silo);
    }

    [Fact]
    public async Task Reminder_periods_below_the_minimum_are_refused()
    {
        var error = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() =>
            _silos[0].Grains.GetGrain<ICounterGrain>("x").StartTickingAsync(TimeSpan.FromMilliseconds(10)));
        Assert.Contains("at least", error.Message);
    }
}
