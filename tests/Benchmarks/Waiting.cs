using System.Diagnostics;

namespace Orleans.Jobs.Benchmarks;

/// <summary>Polls a condition until it holds, within a limit.</summary>
public static class Waiting
{
    public static Task UntilAsync(Func<bool> condition, TimeSpan limit, string what) => UntilAsync(() => Task.FromResult(condition()), limit, what);

    public static async Task UntilAsync(Func<Task<bool>> condition, TimeSpan limit, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!await condition())
        {
            if (clock.Elapsed > limit) throw new TimeoutException($"Not within {limit.TotalSeconds:0} s: {what}.");
            await Task.Delay(5);
        }
    }
}
