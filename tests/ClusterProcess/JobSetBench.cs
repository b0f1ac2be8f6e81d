using System.Diagnostics;
using Orleans.Jobs.Client.JobSets;

namespace Orleans.Jobs.ClusterProcess;

/// <summary>
/// The jobset-bench process: one worker running <see cref="JobSet.RunAsync(IGrainFactory, string, Func{string, System.Text.Json.Nodes.JsonObject, CancellationToken, Task}, IEnumerable{string}, IReadOnlyDictionary{string, System.Text.Json.Nodes.JsonObject}?, JobSetOptions?, CancellationToken)"/>
/// on <c>count</c> no-op jobs whose ids are made one at a time as the set is walked (never a list), printing how far it got.
/// </summary>
public static class JobSetBench
{
    /// <summary>Jobs the worker runs at once (each slot claims one job at a time).</summary>
    public const int DefaultConcurrency = 32;

    /// <summary>
    /// Prints <c>PROGRESS &lt;seconds&gt; &lt;ids walked&gt; &lt;jobs run&gt; &lt;managed heap bytes&gt;</c> every
    /// <paramref name="interval"/>, <c>ADDED &lt;seconds&gt;</c> when the first job runs (every batch is added by then) and
    /// <c>SUMMARY &lt;completed&gt; &lt;failed&gt; &lt;run here&gt; &lt;seconds&gt;</c> at the end; seconds count from the start of
    /// <c>RunAsync</c>. <paramref name="cancellationToken"/> (the host stopping: SIGTERM) stops the worker, its running jobs given back.
    /// </summary>
    public static async Task<int> RunAsync(IGrainFactory grains, string jobSetId, int count, int concurrency, TimeSpan interval, TextWriter output, CancellationToken cancellationToken)
    {
        long walked = 0, run = 0;
        var clock = Stopwatch.StartNew();
        using var stop = new CancellationTokenSource();
        var reporting = ReportAsync();

        var ids = Enumerable.Range(0, count).Select(i =>
        {
            Interlocked.Increment(ref walked);
            return $"job-{i}";
        });
        var summary = await JobSet.RunAsync(grains, jobSetId, (_, _, _) =>
        {
            if (Interlocked.Increment(ref run) == 1) output.WriteLine($"ADDED {clock.Elapsed.TotalSeconds:0.000}");

            return Task.CompletedTask;
        }, ids, options: new JobSetOptions { Concurrency = concurrency, IdleWait = TimeSpan.FromSeconds(1) }, cancellationToken: cancellationToken);
        var seconds = clock.Elapsed.TotalSeconds;
        await stop.CancelAsync();
        await reporting;
        Report();
        output.WriteLine($"SUMMARY {summary.Completed} {summary.Failed} {summary.RunHere} {seconds:0.000}");
        return summary.Completed == count ? 0 : 1;

        async Task ReportAsync()
        {
            using var timer = new PeriodicTimer(interval);
            try
            {
                while (await timer.WaitForNextTickAsync(stop.Token)) Report();
            }
            catch (OperationCanceledException)
            {
            }
        }

        void Report() =>
            output.WriteLine($"PROGRESS {clock.Elapsed.TotalSeconds:0.000} {Interlocked.Read(ref walked)} {Interlocked.Read(ref run)} {GC.GetTotalMemory(false)}");
    }
}
