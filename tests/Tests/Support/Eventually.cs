using System.Diagnostics;

namespace Orleans.Jobs.Tests.Support;

/// <summary>Polling with a deadline, for conditions reached by background work.</summary>
public static class Eventually
{
    public static readonly TimeSpan DefaultDeadline = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Polls <paramref name="condition"/> until it holds; fails the test with <paramref name="what"/> at the deadline.
    /// A poll that throws counts as "not yet" (a client whose gateway silo just died reconnects), and the last such
    /// error is named if the deadline passes.
    /// </summary>
    public static async Task TrueAsync(Func<Task<bool>> condition, string what, TimeSpan? deadline = null)
    {
        var clock = Stopwatch.StartNew();
        var limit = deadline ?? DefaultDeadline;
        Exception? last = null;
        while (true)
        {
            try
            {
                if (await condition()) return;
            }
            catch (Exception e) when (e is not Xunit.Sdk.IAssertionException)
            {
                last = e;
            }

            if (clock.Elapsed > limit)
                Assert.Fail($"Timed out after {limit.TotalSeconds:0}s waiting for: {what}{(last is null ? "" : $" (last error: {last.GetType().Name}: {last.Message})")}");
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
