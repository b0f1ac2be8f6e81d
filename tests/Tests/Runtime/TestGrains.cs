using System.Collections.Concurrent;
using Orleans.Jobs.Runtime;
using Orleans.Jobs.Runtime.Reminders;

namespace Orleans.Jobs.Tests.Runtime;

[GrainType("test.counter")]
public interface ICounterGrain : IGrainWithStringKey
{
    Task<int> IncrementAsync();

    Task<int> GetAsync();

    /// <summary>Writes state from an interleaved call, using whatever version this activation last saw.</summary>
    [AlwaysInterleave]
    Task<int> IncrementOutsideTurnAsync();

    Task HoldTurnAsync(TimeSpan hold);

    [AlwaysInterleave]
    Task HoldInterleavedAsync(int meetCount);

    Task StartTickingAsync(TimeSpan period);

    Task StopTickingAsync();

    Task<string> FailAsync(string message);
}

public sealed class CounterState
{
    public int Value { get; set; }
}

public sealed class CounterGrain : Grain<CounterState>, ICounterGrain, IRemindable
{
    /// <summary>Per grain key: calls inside right now and the most seen at once, across every silo of the process.</summary>
    public static readonly ConcurrentDictionary<string, Occupancy> Inside = new();

    /// <summary>Per grain key: the reminder ticks delivered, with the silo that delivered each.</summary>
    public static readonly ConcurrentDictionary<string, ConcurrentQueue<(DateTimeOffset Tick, string Silo)>> Ticks = new();

    private static readonly ConcurrentDictionary<string, TaskCompletionSource> Meetings = new();

    public async Task<int> IncrementAsync()
    {
        State.Value++;
        await WriteStateAsync();
        return State.Value;
    }

    public Task<int> GetAsync() => Task.FromResult(State.Value);

    public async Task<int> IncrementOutsideTurnAsync()
    {
        State.Value++;
        await WriteStateAsync();
        return State.Value;
    }

    public async Task HoldTurnAsync(TimeSpan hold)
    {
        var occupancy = Inside.GetOrAdd(GetPrimaryKeyString(), _ => new Occupancy());
        occupancy.Enter();
        try { await Task.Delay(hold); }
        finally { occupancy.Leave(); }
    }

    public async Task HoldInterleavedAsync(int meetCount)
    {
        var occupancy = Inside.GetOrAdd(GetPrimaryKeyString(), _ => new Occupancy());
        var meeting = Meetings.GetOrAdd(GetPrimaryKeyString(), _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        if (occupancy.Enter() >= meetCount) meeting.TrySetResult();
        try { await meeting.Task.WaitAsync(TimeSpan.FromSeconds(30)); }
        finally { occupancy.Leave(); }
    }

    public async Task StartTickingAsync(TimeSpan period) => await RegisterOrUpdateReminder("tick", period, period);

    public async Task StopTickingAsync()
    {
        if (await GetReminder("tick") is { } reminder) await UnregisterReminder(reminder);
    }

    public Task<string> FailAsync(string message) => throw new InvalidOperationException(message);

    public Task ReceiveReminder(string reminderName, TickStatus status)
    {
        Ticks.GetOrAdd(GetPrimaryKeyString(), _ => new()).Enqueue((status.CurrentTickTime, Context.SiloId));
        return Task.CompletedTask;
    }

    public sealed class Occupancy
    {
        private int _current;
        private int _max;

        public int Max => Volatile.Read(ref _max);

        public int Enter()
        {
            var now = Interlocked.Increment(ref _current);
            int seen;
            while (now > (seen = Volatile.Read(ref _max)) && Interlocked.CompareExchange(ref _max, now, seen) != seen) { }
            return now;
        }

        public void Leave() => Interlocked.Decrement(ref _current);
    }
}

/// <summary>Not a valid grain interface: two methods share a name.</summary>
public interface IOverloadedGrain : IGrainWithStringKey
{
    Task DoAsync(int a);

    Task DoAsync(string a);
}

/// <summary>Not a valid grain interface: a method does not return a task.</summary>
public interface ISyncGrain : IGrainWithStringKey
{
    int Get();
}
