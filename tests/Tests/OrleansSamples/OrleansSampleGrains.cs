using Orleans.Runtime;

namespace Orleans.Jobs.Tests.OrleansSamples;

// Orleans' own HelloWorld sample grain and a small stateful counter, as Orleans users write them: plain Orleans code
// runs on an Orleans.Jobs cluster because the cluster is Orleans.

/// <summary>Orleans' HelloWorld sample grain interface.</summary>
public interface IHelloGrain : IGrainWithStringKey
{
    Task<string> SayHello(string greeting);
}

/// <summary>Orleans' HelloWorld sample grain.</summary>
public sealed class HelloGrain : Grain, IHelloGrain
{
    public Task<string> SayHello(string greeting) =>
        Task.FromResult($"\n Client said: '{greeting}', so HelloGrain says: Hello!");
}

/// <summary>A counter that keeps its count in Orleans grain state.</summary>
public interface ICounterGrain : IGrainWithStringKey
{
    Task<int> IncrementAsync();

    Task<int> GetCountAsync();
}

[GenerateSerializer]
public sealed class CounterState
{
    [Id(0)]
    public int Count { get; set; }
}

public sealed class CounterGrain([PersistentState("counter", "OrleansJobs")] IPersistentState<CounterState> state) : Grain, ICounterGrain
{
    public async Task<int> IncrementAsync()
    {
        state.State.Count++;
        await state.WriteStateAsync();
        return state.State.Count;
    }

    public Task<int> GetCountAsync() => Task.FromResult(state.State.Count);
}
