using System.Diagnostics;

namespace Orleans.Jobs.Benchmarks;

/// <summary>Polls a condition until it holds, within a limit.</summary>
public static class Waiting
{
    private static readonly TimeSpan DefaultEvery = TimeSpan.FromMilliseconds(5);

    public static Task UntilAsync(Func<bool> condition, TimeSpan limit, string what, TimeSpan? every = null) =>
        UntilAsync(() => Task.FromResult(condition()), limit, what, every);

    /// <summary>Asks <paramref name="condition"/> every <paramref name="every"/> (5 ms unless told: a query of a busy database wants less).</summary>
    public static async Task UntilAsync(Func<Task<bool>> condition, TimeSpan limit, string what, TimeSpan? every = null)
    {
        var clock = Stopwatch.StartNew();
        while (!await condition())
        {
            if (clock.Elapsed > limit) throw new TimeoutException($"Not within {limit.TotalSeconds:0} s: {what}.");
            await Task.Delay(every ?? DefaultEvery);
        }
    }
}
