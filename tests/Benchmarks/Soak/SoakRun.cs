using System.Diagnostics;
using System.Text;
using Orleans.Jobs.Benchmarks.Chaos;
using Orleans.Jobs.Storage;

namespace Orleans.Jobs.Benchmarks.Soak;

/// <summary>One sample of one silo process: seconds since the load started, resident memory and open handles.</summary>
public sealed record SoakSample(double Seconds, int Silo, long RssKb, int Handles);

/// <summary>A silo's memory and handles over the soak: the first and last sample after warm-up, and the fitted slope.</summary>
public sealed record SoakTrend(int Silo, double RssFirstMiB, double RssLastMiB, double RssMiBPerHour, double HandlesFirst, double HandlesLast, double HandlesPerHour, bool Flat);

public sealed record SoakResults(string Date, string Command, string Machine, double Minutes, double WarmUpMinutes, int Sent, int Lost, long LeftUnfinished, List<SoakTrend> Trends, List<SoakSample> Samples, List<string> Notes);

/// <summary>
/// scripts/soak: three silo processes under a steady mixed load (payloads of 16 B to 16 KiB, priorities, one job in ten
/// delayed by seconds) for a long time, with every silo's VmRSS and open handles sampled every 10 s. A trend is the
/// least-squares slope of the second half of the samples (the first half is warm-up: a .NET heap grows to its working
/// size over minutes, then holds; a leak keeps growing); flat means the fitted growth over that half is under 10% of
/// the mean (at least 8 MiB / 5 handles: noise on a small base).
/// </summary>
public static class SoakRun
{
    private static readonly TimeSpan SampleEvery = TimeSpan.FromSeconds(10);

    public static NewJob MixedJob(long n) => new(
        new string('x', 16 << (int)(n % 11)), // 16 B .. 16 KiB
        (int)(n % 11) - 5,
        n % 10 == 0 ? DateTimeOffset.UtcNow + TimeSpan.FromSeconds(1 + n % 5) : null,
        false,
        10);

    public static async Task<SoakResults> RunAsync(ChaosServers servers, TimeSpan duration, string command, TextWriter log)
    {
        var environment = await BenchmarkEnvironment.ReadAsync(servers.PostgresConnection);
        var samples = new List<SoakSample>();
        List<string> notes;
        long left;
        int sent, lost;
        await using (var cluster = await ChaosCluster.StartAsync(servers, log, MixedJob))
        {
            cluster.BeginWindow("soak");
            var clock = Stopwatch.StartNew();
            using var timer = new PeriodicTimer(SampleEvery);
            do
            {
                var pids = cluster.SiloProcessIds;
                for (var i = 0; i < pids.Count; i++)
                    if (ProcessStatus.Memory(pids[i]).Rss is { } rss && ProcessStatus.Handles(pids[i]) is { } handles)
                        samples.Add(new SoakSample(clock.Elapsed.TotalSeconds, i, rss, handles));
                if (samples.Count % (6 * pids.Count) == 0)
                    log.WriteLine($"  {clock.Elapsed.TotalMinutes:0} min: {string.Join(", ", samples.TakeLast(pids.Count).Select(s => $"silo {s.Silo + 1} {s.RssKb / 1024.0:0} MiB {s.Handles} handles"))}");
            }
            while (clock.Elapsed < duration && await timer.WaitForNextTickAsync());

            left = await cluster.DrainAsync(TimeSpan.FromMinutes(2));
            notes = cluster.TakeNotes();
            var finished = await cluster.Database.RowsAsync(BenchmarkSql.ChaosFinished(ChaosCluster.Schema, ChaosCluster.Queue), r => (Id: r.GetInt64(0), State: r.GetInt32(1)));
            var completed = finished.Where(f => f.State == 2).Select(f => f.Id).ToHashSet();
            sent = cluster.Sent.Count;
            lost = cluster.Sent.Keys.Count(id => !completed.Contains(id));
        }

        return Analyse(new SoakResults(environment.Date, command, $"{environment.Cpu} ({environment.Cores} cores), PostgreSQL {environment.PostgreSql}, {environment.DotNet}",
            duration.TotalMinutes, duration.TotalMinutes / 2, sent, lost, left, [], samples, notes));
    }

    /// <summary>The trends of a run's samples after its warm-up (the first half): also for a saved run (--from-json).</summary>
    public static SoakResults Analyse(SoakResults run)
    {
        var warmUp = run.Minutes / 2;
        var trends = run.Samples.Where(s => s.Seconds >= warmUp * 60).GroupBy(s => s.Silo).OrderBy(g => g.Key).Select(g => Trend(g.Key, g.ToList())).ToList();
        return run with { WarmUpMinutes = warmUp, Trends = trends };
    }

    public static async Task WriteAsync(SoakResults results, string output)
    {
        Directory.CreateDirectory(output);
        var maxX = results.Minutes * 60;
        IReadOnlyList<(double, double)>[] Series(Func<SoakSample, double> value) =>
            [.. results.Samples.GroupBy(s => s.Silo).OrderBy(g => g.Key).Select(g => (IReadOnlyList<(double, double)>)g.Select(s => (s.Seconds, value(s))).ToList())];
        var maxRss = results.Samples.Max(s => s.RssKb / 1024.0) * 1.2;
        var maxHandles = results.Samples.Max(s => (double)s.Handles) * 1.2;
        await File.WriteAllBytesAsync(Path.Combine(output, "soak-memory.png"), LineChart.Png(Series(s => s.RssKb / 1024.0), maxX, maxRss));
        await File.WriteAllBytesAsync(Path.Combine(output, "soak-handles.png"), LineChart.Png(Series(s => s.Handles), maxX, maxHandles));
        await ReliabilityPage.PublishAsync(output, "soak", results, Report(results, maxRss, maxHandles));
    }

    private static SoakTrend Trend(int silo, List<SoakSample> samples)
    {
        var hours = samples.Select(s => s.Seconds / 3600).ToList();
        var rss = samples.Select(s => s.RssKb / 1024.0).ToList();
        var handles = samples.Select(s => (double)s.Handles).ToList();
        var span = hours.Count > 1 ? hours[^1] - hours[0] : 0;
        var rssSlope = Slope(hours, rss);
        var handleSlope = Slope(hours, handles);
        var flat = rssSlope * span < Math.Max(0.1 * rss.Average(), 8) && handleSlope * span < Math.Max(0.1 * handles.Average(), 5);
        return new SoakTrend(silo, rss[0], rss[^1], rssSlope, handles[0], handles[^1], handleSlope, flat);
    }

    private static double Slope(List<double> x, List<double> y)
    {
        if (x.Count < 2) return 0;
        var (mx, my) = (x.Average(), y.Average());
        var denominator = x.Sum(v => (v - mx) * (v - mx));
        return denominator == 0 ? 0 : x.Zip(y).Sum(p => (p.First - mx) * (p.Second - my)) / denominator;
    }

    private static string Report(SoakResults r, double maxRss, double maxHandles)
    {
        var md = new StringBuilder();
        md.AppendLine("## Soak: memory and handles under a long mixed load (scripts/soak)");
        md.AppendLine();
        md.AppendLine($"Measured {r.Date} by `{r.Command}` on {r.Machine}: {r.Minutes:0} minutes, {ChaosCluster.JobsPerSend} jobs every {ChaosCluster.SendEvery.TotalMilliseconds:0} ms to three silo");
        md.AppendLine("processes (the chaos run's cluster, no faults), the jobs mixed: payloads of 16 B to 16 KiB, priorities -5 to 5, one in ten");
        md.AppendLine($"delayed 1-5 s. Every 10 s each silo's VmRSS and open file descriptors (/proc) were sampled; the trend is fitted to the");
        md.AppendLine($"second half (from minute {r.WarmUpMinutes:0}): the first is warm-up, while the heap grows to its working size.");
        md.AppendLine();
        md.AppendLine($"{r.Sent:N0} jobs sent, **{r.Lost} lost**, {r.LeftUnfinished} unfinished after the drain.");
        md.AppendLine();
        md.AppendLine("| silo | RSS after warm-up MiB | RSS at the end MiB | fitted MiB per hour | handles after warm-up | handles at the end | fitted handles per hour | trend |");
        md.AppendLine("|---|---|---|---|---|---|---|---|");
        foreach (var t in r.Trends)
            md.AppendLine($"| {t.Silo + 1} ({LineChart.ColorNames[t.Silo % LineChart.ColorNames.Length]}) | {t.RssFirstMiB:0} | {t.RssLastMiB:0} | {t.RssMiBPerHour:+0.0;-0.0} | {t.HandlesFirst:0} | {t.HandlesLast:0} | {t.HandlesPerHour:+0.0;-0.0} | {(t.Flat ? "flat" : "growing")} |");
        md.AppendLine();
        md.AppendLine("Flat: the least-squares growth over the second half is under 10% of its mean (at least 8 MiB, 5 handles).");
        md.AppendLine();
        md.AppendLine($"![VmRSS of each silo, 0 to {maxRss:0} MiB, over {r.Minutes:0} minutes](soak-memory.png)");
        md.AppendLine();
        md.AppendLine($"*VmRSS of each silo: 0 to {maxRss:0} MiB up, 0 to {r.Minutes:0} minutes across; grid lines at quarters.*");
        md.AppendLine();
        md.AppendLine($"![Open handles of each silo, 0 to {maxHandles:0}, over {r.Minutes:0} minutes](soak-handles.png)");
        md.AppendLine();
        md.AppendLine($"*Open file descriptors of each silo: 0 to {maxHandles:0} up, 0 to {r.Minutes:0} minutes across.*");
        foreach (var note in r.Notes) md.AppendLine($"- {note}");
        return md.ToString();
    }
}
