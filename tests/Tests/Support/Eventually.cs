using System.Diagnostics;

namespace Orleans.Jobs.Tests.Support;

/// <summary>Polling with a deadline, for conditions reached by background work.</summary>
public static class Eventually
{
    public static readonly TimeSpan DefaultDeadline = TimeSpan.FromSeconds(30);

    /// <summary>Polls <paramref name="condition"/> until it holds; fails the test with <paramref name="what"/> at the deadline.</summary>
    public static async Task TrueAsync(Func<Task<bool>> condition, string what, TimeSpan? deadline = null)
    {
        var clock = Stopwatch.StartNew();
        var limit = deadline ?? DefaultDeadline;
        while (!await condition())
        {
            if (clock.Elapsed > limit)
                Assert.Fail($"Timed out after {limit.TotalSeconds:0}s waiting for: {what}");
            await Task.Delay(20);
        }
    }

    /// <summary>Polls a synchronous condition.</summary>
    public static Task TrueAsync(Func<bool> condition, string what, TimeSpan? deadline = null) =>
        TrueAsync(() => Task.FromResult(condition()), what, deadline);

    /// <summary>Awaits a task, failing the test at the deadline.</summary>
    public static async Task<T> WithinAsync<T>(Task<T> task, string what, TimeSpan? deadline = null)
    {
        var limit = deadline ?? DefaultDeadline;
        if (await Task.WhenAny(task, Task.Delay(limit)) != task)
            Assert.Fail($"Timed out after {limit.TotalSeconds:0}s waiting for: {what}");
        return await task;
    }
}
