using System.Text.Json;

namespace Orleans.Jobs.Benchmarks.Chaos;

/// <summary>What one fault did to the steady load, measured from the store after the run.</summary>
public sealed record FaultResult(
    string Name,
    string Description,
    double FaultSeconds,
    int Sent,
    int SendFailures,
    int InFlight,
    int Lost,
    int DeadLettered,
    int RunTwice,
    int RunTwiceInFlight,
    double? ThroughputBackSeconds,
    double? AffectedDoneSeconds,
    List<string> Notes)
{
    /// <summary>Issue 11's goal: nothing lost, throughput and every affected job back within this long of the fault's end.</summary>
    public const double GoalSeconds = 15;

    public bool Met => Lost == 0 && ThroughputBackSeconds <= GoalSeconds && (InFlight == 0 || AffectedDoneSeconds <= GoalSeconds);
}

/// <summary>A chaos run's results: when, where, and one row per fault.</summary>
public sealed record ChaosResults(string Date, string Command, string Machine, double? LoadAtStart, double? LoadAtEnd, double ObserveSeconds, int TotalSent, int TotalLost, long LeftUnfinished, List<FaultResult> Faults);

/// <summary>
/// scripts/chaos: a steady load of monitored jobs on three silo processes, then each fault in turn, each observed for a
/// fixed time after it ended; then the load stops, the jobs drain, and every figure is read back from the store.
/// </summary>
public static class ChaosRun
{
    /// <summary>How long each fault is watched after it ended.</summary>
    public static readonly TimeSpan Observe = TimeSpan.FromSeconds(40);

    private static readonly TimeSpan WarmUp = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan Drain = TimeSpan.FromMinutes(2);

    private sealed record Window(ChaosFault Fault, DateTime StartedAt, DateTime EndedAt, List<string> Notes, int SendFailures);

    public static async Task<ChaosResults> RunAsync(ChaosServers servers, IReadOnlyCollection<string>? only, string command, TextWriter log)
    {
        var environment = await BenchmarkEnvironment.ReadAsync(servers.PostgresConnection);
        var loadAtStart = BenchmarkEnvironment.LoadAverage();
        var faults = ChaosFaults.All.Where(f => only is null || only.Contains(f.Name)).ToList();
        var windows = new List<Window>();
        long left;
        Dictionary<long, string> sent;
        List<(long Job, DateTime StartedAt)> executions;
        Dictionary<long, (int State, DateTime At)> finished;
        await using (var cluster = await ChaosCluster.StartAsync(servers, log))
        {
            await Task.Delay(WarmUp);
            foreach (var fault in faults)
            {
                cluster.BeginWindow(fault.Name);
                log.WriteLine($"  {fault.Name}: {fault.Description}");
                var startedAt = DateTime.UtcNow;
                var notes = new List<string>();
                try
                {
                    if (await fault.InjectAsync(cluster) is { } seen) notes.Add(seen);
                }
                catch (Exception e)
                {
                    notes.Add($"the fault could not be done as planned: {e.GetType().Name}: {e.Message}");
                }

                var endedAt = cluster.StruckAt ?? DateTime.UtcNow;
                var watching = fault.WatchAsync?.Invoke(cluster, Observe);
                await Task.Delay(Observe);
                if (watching is not null && await watching is { } watched) notes.Add(watched);
                await fault.HealAsync(cluster);
                notes.AddRange(cluster.TakeNotes());
                windows.Add(new Window(fault, startedAt, endedAt, notes, cluster.SendFailures.GetValueOrDefault(fault.Name)));
                foreach (var note in notes) log.WriteLine($"    {note}");
                cluster.BeginWindow($"after {fault.Name}");
                await Task.Delay(TimeSpan.FromSeconds(5));
            }

            left = await cluster.DrainAsync(Drain);
            sent = new Dictionary<long, string>(cluster.Sent);
            executions = await cluster.Database.RowsAsync(BenchmarkSql.ChaosExecutions(ChaosCluster.Schema), r => (r.GetInt64(0), r.GetDateTime(1)));
            finished = (await cluster.Database.RowsAsync(BenchmarkSql.ChaosFinished(ChaosCluster.Schema, ChaosCluster.Queue), r => (Id: r.GetInt64(0), State: r.GetInt32(1), At: r.GetDateTime(2))))
                .ToDictionary(f => f.Id, f => (f.State, f.At));
        }

        var results = windows.Select(w => Measure(w, sent, executions, finished)).ToList();
        foreach (var r in results)
            log.WriteLine($"  {r.Name}: lost {r.Lost}, in flight {r.InFlight}, run twice {r.RunTwice} ({r.RunTwiceInFlight} in flight), throughput back after {r.ThroughputBackSeconds:0.0} s, affected done after {r.AffectedDoneSeconds:0.0} s");
        var lost = sent.Keys.Count(id => !finished.TryGetValue(id, out var f) || f.State != 2);
        return new ChaosResults(environment.Date, command, $"{environment.Cpu} ({environment.Cores} cores), PostgreSQL {environment.PostgreSql}, {environment.DotNet}",
            loadAtStart, BenchmarkEnvironment.LoadAverage(), Observe.TotalSeconds, sent.Count, lost, left, results);
    }

    public static Task WriteAsync(ChaosResults results, string output) => ReliabilityPage.PublishAsync(output, "chaos", results, ChaosReport.Write(results));

    private static FaultResult Measure(Window w, Dictionary<long, string> sent, List<(long Job, DateTime StartedAt)> executions, Dictionary<long, (int State, DateTime At)> finished)
    {
        var t0 = w.StartedAt;
        var t1 = w.EndedAt;
        var until = t1 + Observe;
        bool FinishedBy(long job, DateTime at) => finished.TryGetValue(job, out var f) && f.At <= at;

        var byJob = executions.Where(e => e.StartedAt >= t0 - TimeSpan.FromMinutes(1)).GroupBy(e => e.Job).ToDictionary(g => g.Key, g => g.Select(e => e.StartedAt).Order().ToList());
        // In flight when the fault struck: started before it was over (a SIGKILL of a busy process takes a while to land)
        // and not finished by then.
        var inFlight = byJob.Where(j => j.Value[0] <= t1 && !FinishedBy(j.Key, t1)).Select(j => j.Key).ToHashSet();
        var twice = byJob.Where(j => j.Value.Count > 1 && j.Value.Skip(1).Any(s => s >= t0 && s <= until)).Select(j => j.Key).ToList();

        var ofWindow = sent.Where(s => s.Value == w.Fault.Name).Select(s => s.Key).Concat(inFlight).Distinct().ToList();
        var lost = ofWindow.Count(id => !finished.TryGetValue(id, out var f) || f.State != 2);
        var dead = ofWindow.Count(id => finished.TryGetValue(id, out var f) && f.State == 3);

        // Throughput is back from the end of the last 3 s window (after the fault ended) that completed under 80% of the load.
        var expected = ChaosCluster.JobsPerSend / ChaosCluster.SendEvery.TotalSeconds * 3 * 0.8;
        var completions = finished.Values.Where(f => f.State == 2 && f.At >= t1 && f.At <= until).Select(f => (f.At - t1).TotalSeconds).ToList();
        double back = 0;
        for (var s = 0.0; s + 3 <= Observe.TotalSeconds; s += 0.5)
            if (completions.Count(c => c >= s && c < s + 3) < expected) back = s + 3;
        var throughputBack = back >= Observe.TotalSeconds ? (double?)null : back;

        var affectedDone = inFlight.Count == 0 ? 0
            : inFlight.All(id => finished.TryGetValue(id, out var f) && f.State == 2) ? Math.Max(0, inFlight.Max(id => (finished[id].At - t1).TotalSeconds))
            : (double?)null;

        return new FaultResult(w.Fault.Name, w.Fault.Description, (t1 - t0).TotalSeconds, sent.Count(s => s.Value == w.Fault.Name), w.SendFailures,
            inFlight.Count, lost, dead, twice.Count, twice.Count(inFlight.Contains), throughputBack, affectedDone, w.Notes);
    }
}
