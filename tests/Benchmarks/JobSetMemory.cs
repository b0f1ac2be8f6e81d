using System.Diagnostics;
using System.Globalization;

namespace Orleans.Jobs.Benchmarks;

/// <summary>
/// One jobset of no-op jobs run by one worker process (tests/ClusterProcess <c>jobset-bench</c>) against one silo
/// process on PostgreSQL, with the resident memory of both (VmRSS in /proc/&lt;pid&gt;/status) sampled as it goes, next to
/// how many job ids the worker had walked (added) and how many jobs it had run (done).
/// </summary>
public sealed class JobSetMemory(string connection, string schema, TextWriter log)
{
    private const string JobSetId = "bench_memory";

    /// <summary>
    /// Runs the set. A set not done within <paramref name="cap"/>, or whose worker ends without finishing it, is returned
    /// with what was sampled until then and <see cref="JobSetRun.Error"/> set.
    /// </summary>
    public async Task<JobSetRun> RunAsync(int jobs, int concurrency, TimeSpan sampleEvery, TimeSpan cap)
    {
        var wall = Stopwatch.StartNew();
        var cluster = $"bench-jobset-{Guid.NewGuid():N}"[..40];
        string[] ids = [$"--Cluster:ClusterId={cluster}", $"--Cluster:ServiceId={cluster}"];
        await using var silo = BenchmarkProcess.StartSilo(connection, schema, "unused", hang: false, ids);
        await silo.ReadyAsync(TimeSpan.FromMinutes(2));
        await using var worker = BenchmarkProcess.Start(["jobset-bench", JobSetId, jobs.ToString(CultureInfo.InvariantCulture), .. ids,
            $"--Cluster:Gateways:0=127.0.0.1:{silo.GatewayPort}", $"--JobSetBench:Concurrency={concurrency}", "--JobSetBench:IntervalMilliseconds=250"]);

        var run = new JobSetRun { Jobs = jobs, Concurrency = concurrency, SampleSeconds = sampleEvery.TotalSeconds };
        var progress = new WorkerProgress();
        var clock = Stopwatch.StartNew();
        void Sample()
        {
            var (workerRss, workerPeak) = ProcessStatus.Memory(worker.Id);
            var (siloRss, siloPeak) = ProcessStatus.Memory(silo.Id);
            lock (run.Samples)
            {
                if (workerRss is null || siloRss is null) return;
                run.Samples.Add(new JobSetSample(clock.Elapsed.TotalSeconds, workerRss.Value, siloRss.Value, progress.Walked, progress.Run, progress.HeapBytes));
                run.WorkerPeakKb = workerPeak ?? run.WorkerPeakKb;
                run.SiloPeakKb = siloPeak ?? run.SiloPeakKb;
            }
        }

        using var deadline = new CancellationTokenSource(cap);
        var nextLog = TimeSpan.FromSeconds(30);
        var reading = ReadAsync(worker, progress, Sample, deadline.Token);
        using (var timer = new PeriodicTimer(sampleEvery))
        {
            try
            {
                while (!reading.IsCompleted && await timer.WaitForNextTickAsync(deadline.Token))
                {
                    Sample();
                    if (clock.Elapsed < nextLog || run.Samples.Count == 0) continue;
                    nextLog += TimeSpan.FromSeconds(30);
                    log.WriteLine($"    {clock.Elapsed.TotalSeconds:0} s: {progress.Walked:N0} added, {progress.Run:N0} done; worker {run.Samples[^1].WorkerRssKb / 1024.0:N0} MiB, silo {run.Samples[^1].SiloRssKb / 1024.0:N0} MiB");
                }
            }
            catch (OperationCanceledException) when (deadline.IsCancellationRequested)
            {
                run.Error = $"stopped after {cap.TotalMinutes:0} minutes ({progress.Walked:N0} added, {progress.Run:N0} done); the samples until then are shown";
                run.WallSeconds = wall.Elapsed.TotalSeconds;
                return run;
            }
        }

        await reading;
        run.WallSeconds = wall.Elapsed.TotalSeconds;
        if (progress.Summary is not { } summary || summary.Completed != jobs)
        {
            var error = worker.Errors.Split('\n').FirstOrDefault(l => l.Contains("Exception", StringComparison.Ordinal))?.Trim() ?? "no exception printed";
            log.WriteLine($"  the jobset worker ended without completing {jobs} jobs; its stderr:{Environment.NewLine}{worker.Errors}");
            run.Error = $"stopped when its worker process ended at {progress.Walked:N0} added, {progress.Run:N0} done, without finishing ({error}); the samples until then are shown";
            return run;
        }

        run.AddSeconds = progress.AddedSeconds;
        run.RunSeconds = summary.Seconds - progress.AddedSeconds;
        return run;
    }

    /// <summary>Follows the worker's output until it ends, sampling once more the moment it reports the set done.</summary>
    private static async Task ReadAsync(BenchmarkProcess worker, WorkerProgress progress, Action sample, CancellationToken cancellationToken)
    {
        while (await worker.ReadLineAsync(cancellationToken) is { } line)
        {
            var parts = line.Split(' ');
            switch (parts[0])
            {
                case "PROGRESS" when parts.Length == 5:
                    (progress.Walked, progress.Run, progress.HeapBytes) = (long.Parse(parts[2], CultureInfo.InvariantCulture), long.Parse(parts[3], CultureInfo.InvariantCulture), long.Parse(parts[4], CultureInfo.InvariantCulture));
                    break;
                case "ADDED" when parts.Length == 2:
                    progress.AddedSeconds = double.Parse(parts[1], CultureInfo.InvariantCulture);
                    break;
                case "SUMMARY" when parts.Length == 5:
                    progress.Summary = (long.Parse(parts[1], CultureInfo.InvariantCulture), double.Parse(parts[4], CultureInfo.InvariantCulture));
                    sample();
                    break;
            }
        }
    }

    private sealed class WorkerProgress
    {
        public long Walked;
        public long Run;
        public long HeapBytes;
        public double AddedSeconds;
        public (long Completed, double Seconds)? Summary;
    }
}
