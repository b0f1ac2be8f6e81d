using System.Text;

namespace Orleans.Jobs.Benchmarks;

/// <summary>The jobset section of docs/benchmarks.md: a jobset's memory against its size.</summary>
public static partial class BenchmarkReport
{
    /// <summary>Flat: the peak after warm-up is at most this many times the resident memory at 10% of the jobs added.</summary>
    public const double FlatFactor = 1.5;

    private static readonly int[] Points = [10, 25, 50, 75, 100];

    private static string JobSets(BenchmarkResults r, JobSetResults j)
    {
        var md = new StringBuilder();
        var runs = j.Runs.OrderBy(x => x.Jobs).ToList();
        var sizes = string.Join(" and ", runs.Select(x => x.Jobs.ToString("N0")));
        WriteRegionHeading(md, r, $"Jobset memory: one jobset of {(sizes.Length > 0 ? sizes : "-")} no-op jobs, one worker process, one silo process", JobSetRegion, j.LoadAtStart, j.LoadAtEnd);
        md.AppendLine("Target (issue 9): memory stays O(batch), not O(jobs). The worker runs `JobSet.RunAsync` on ids made one at a time by");
        md.AppendLine("`Enumerable.Range(0, n).Select(i => $\"job-{i}\")` (never a list); tests/ClusterProcess `jobset-bench`. Every second the");
        md.AppendLine("benchmark reads VmRSS from `/proc/<pid>/status` of the worker process and of the silo process, next to the ids the worker");
        md.AppendLine($"had walked (added) and the jobs it had run (done). **Flat** means: the highest sample from 10% added on is at most {FlatFactor}x");
        md.AppendLine("the sample at 10% added, in both processes.");
        md.AppendLine();
        if (runs.Count > 0)
        {
            WriteMemoryTable(md, runs);
            WriteVerdict(md, runs);
            WriteThroughput(md, runs);
        }

        md.AppendLine("Set-up: one silo process (tests/ClusterProcess `silo`, the stock host: job store, Orleans membership, grain state and");
        md.AppendLine("reminders on the benchmark's PostgreSQL) and one worker process (an Orleans client through the silo's gateway) with");
        md.AppendLine($"{(runs.FirstOrDefault()?.Concurrency is { } c ? c.ToString() : "-")} slots (`JobSetOptions.Concurrency`), each claiming one job at a time; batches of 1,000 (`JobSetOptions.BatchSize`).");
        md.AppendLine("Adding: from the start of `RunAsync` until its first job ran (every batch added and the setup completed). Running: from");
        md.AppendLine("then until the worker saw the set done. Wall: the whole run, the two processes' start and stop included. Each point of");
        md.AppendLine("the memory table is the first sample at or past it, so with a short phase two points may share a sample.");
        foreach (var error in j.Errors)
        {
            md.AppendLine();
            md.AppendLine($"A run that produced no figure: {error}");
        }

        return md.ToString();
    }

    private static void WriteMemoryTable(StringBuilder md, IReadOnlyList<JobSetRun> runs)
    {
        md.AppendLine($"| resident memory (MiB) | {string.Join(" | ", runs.Select(x => $"{x.Jobs:N0} jobs: worker | silo"))} |");
        md.AppendLine($"|---|{string.Concat(runs.Select(_ => "---|---|"))}");
        foreach (var (label, at) in new (string, Func<JobSetRun, int, JobSetSample?>)[] { ("added", AtAdded), ("done", AtDone) })
        {
            foreach (var point in Points)
                md.AppendLine($"| {point}% of jobs {label} | {string.Join(" | ", runs.Select(x => Cells(at(x, point))))} |");
        }

        md.AppendLine($"| peak after warm-up (sampled) | {string.Join(" | ", runs.Select(x => $"{Mib(PeakAfterWarmUp(x, s => s.WorkerRssKb))} | {Mib(PeakAfterWarmUp(x, s => s.SiloRssKb))}"))} |");
        md.AppendLine($"| peak / at 10% added | {string.Join(" | ", runs.Select(x => $"{Flatness(x, s => s.WorkerRssKb):0.00}x | {Flatness(x, s => s.SiloRssKb):0.00}x"))} |");
        md.AppendLine($"| peak of the process's life | {string.Join(" | ", runs.Select(x => $"{Mib(LifePeak(x, x.WorkerPeakKb, s => s.WorkerRssKb))} | {Mib(LifePeak(x, x.SiloPeakKb, s => s.SiloRssKb))}"))} |");
        md.AppendLine($"| worker's managed heap, highest sample | {string.Join(" | ", runs.Select(x => $"{(x.Samples.Count == 0 ? "-" : Mib(x.Samples.Max(s => s.WorkerHeapBytes) / 1024))} | -"))} |");
        md.AppendLine();

        static string Cells(JobSetSample? s) => s is null ? "- | -" : $"{Mib(s.WorkerRssKb)} | {Mib(s.SiloRssKb)}";
    }

    private static void WriteVerdict(StringBuilder md, IReadOnlyList<JobSetRun> runs)
    {
        foreach (var x in runs)
        {
            var (worker, silo) = (Flatness(x, s => s.WorkerRssKb), Flatness(x, s => s.SiloRssKb));
            md.AppendLine($"- {x.Jobs:N0} jobs: worker {Verdict(worker)} ({worker:0.00}x), silo {Verdict(silo)} ({silo:0.00}x){(x.Error is null ? "" : ", until it was stopped")}.");
        }

        if (runs.Count >= 2)
        {
            var (small, large) = (runs[0], runs[^1]);
            double Growth(Func<JobSetSample, long> rss) => (double)PeakAfterWarmUp(large, rss) / Math.Max(1, PeakAfterWarmUp(small, rss));
            md.AppendLine($"- {large.Jobs / (double)small.Jobs:0}x the jobs: peak resident memory {Growth(s => s.WorkerRssKb):0.00}x in the worker, {Growth(s => s.SiloRssKb):0.00}x in the silo " +
                          $"({large.Jobs:N0} / {small.Jobs:N0}; O(jobs) would be about {large.Jobs / (double)small.Jobs:0}x).");
        }

        md.AppendLine();
    }

    private static void WriteThroughput(StringBuilder md, IReadOnlyList<JobSetRun> runs)
    {
        md.AppendLine("| jobs | adding, jobs/s | running, jobs/s | adding | running | wall | samples |");
        md.AppendLine("|---|---|---|---|---|---|---|");
        foreach (var x in runs)
        {
            md.AppendLine(x.Error is null
                ? $"| {x.Jobs:N0} | {x.Jobs / x.AddSeconds:N0} | {x.Jobs / x.RunSeconds:N0} | {x.AddSeconds:0.0} s | {x.RunSeconds:0.0} s | {x.WallSeconds:0} s | {x.Samples.Count} |"
                : $"| {x.Jobs:N0} | - | - | - | - | {x.WallSeconds:0} s | {x.Samples.Count} |");
        }

        md.AppendLine();
        foreach (var x in runs.Where(x => x.Error is not null)) md.AppendLine($"The {x.Jobs:N0}-job set was {x.Error}.");
        if (runs.Any(x => x.Error is not null)) md.AppendLine();
    }

    private static JobSetSample? AtAdded(JobSetRun x, int percent) => x.Samples.FirstOrDefault(s => s.Added * 100 >= (long)x.Jobs * percent);

    private static JobSetSample? AtDone(JobSetRun x, int percent) => x.Samples.FirstOrDefault(s => s.Done * 100 >= (long)x.Jobs * percent);

    /// <summary>The highest sample from the one at 10% added on: the start-up (JIT, pools, first activations) is the warm-up left out.</summary>
    private static long PeakAfterWarmUp(JobSetRun x, Func<JobSetSample, long> rss) =>
        AtAdded(x, Points[0]) is { } warm ? x.Samples.SkipWhile(s => s != warm).Max(rss) : 0;

    private static double Flatness(JobSetRun x, Func<JobSetSample, long> rss) =>
        AtAdded(x, Points[0]) is { } warm ? (double)PeakAfterWarmUp(x, rss) / Math.Max(1, rss(warm)) : double.NaN;

    /// <summary>
    /// The kernel's high-water mark (VmHWM, which also sees peaks between samples, start-up's included) or the highest
    /// sample where that is higher: the kernel updates VmHWM only now and then (when memory is given back), so it can lag.
    /// </summary>
    private static long LifePeak(JobSetRun x, long highWaterMark, Func<JobSetSample, long> rss) => x.Samples.Count == 0 ? highWaterMark : Math.Max(highWaterMark, x.Samples.Max(rss));

    private static string Verdict(double flatness) => double.IsNaN(flatness) ? "no figure" : flatness <= FlatFactor ? "**flat**" : "**not flat**";

    private static string Mib(long kilobytes) => $"{kilobytes / 1024.0:N0}";
}
