using System.Text;

namespace Orleans.Jobs.Benchmarks.Chaos;

/// <summary>Writes docs/reliability.md from a chaos run: one row per fault, with the goal and whether it was met.</summary>
public static class ChaosReport
{
    public static string Write(ChaosResults r)
    {
        var md = new StringBuilder();
        md.AppendLine("## Faults under a steady load (scripts/chaos)");
        md.AppendLine();
        md.AppendLine($"Measured {r.Date} by `{r.Command}` on {r.Machine}.");
        if (r.LoadAtStart is { } start && r.LoadAtEnd is { } end)
            md.AppendLine($"The machine's load average (1 min) was {start:0.0} at the start and {end:0.0} at the end.");
        md.AppendLine();
        md.AppendLine($"Three silo processes (tests/ClusterProcess `silo`, default settings but a connection pool of {ChaosCluster.SiloPoolSize}, Redis membership,");
        md.AppendLine($"PostgreSQL through a TCP proxy the run controls) run a steady load of monitored jobs: {ChaosCluster.JobsPerSend} every {ChaosCluster.SendEvery.TotalMilliseconds:0} ms sent straight to the store, each job a");
        md.AppendLine("10 ms handler that records every start in a table. Each fault runs in turn; after it ended the run watches for");
        md.AppendLine($"{r.ObserveSeconds:0} s, puts back what the fault took that the system should not put back itself (a killed silo), and goes on.");
        md.AppendLine("A silo process that ends on its own is restarted at once, as a service manager would, and noted. At the end the load");
        md.AppendLine("stops, the jobs drain, and every figure is read back from the store.");
        md.AppendLine();
        md.AppendLine($"Over the run: {r.TotalSent:N0} jobs sent and acknowledged, **{r.TotalLost} lost** (acknowledged but never completed), {r.LeftUnfinished} still unfinished after the drain.");
        md.AppendLine();
        md.AppendLine($"Goal (issue 11): no job lost; throughput and every affected job back within {FaultResult.GoalSeconds:0} s of the fault's end, at default settings.");
        md.AppendLine();
        md.AppendLine("| fault | lasted s | sent in window | sends refused | in flight at fault | lost | dead-lettered | run twice (of them in flight) | throughput back after s | affected jobs done after s | met |");
        md.AppendLine("|---|---|---|---|---|---|---|---|---|---|---|");
        foreach (var f in r.Faults)
            md.AppendLine($"| {f.Name} | {f.FaultSeconds:0.0} | {f.Sent:N0} | {f.SendFailures} | {f.InFlight} | {f.Lost} | {f.DeadLettered} | {f.RunTwice} ({f.RunTwiceInFlight}) | {Seconds(f.ThroughputBackSeconds)} | {(f.InFlight == 0 ? "-" : Seconds(f.AffectedDoneSeconds))} | {(f.Met ? "met" : "not met")} |");
        md.AppendLine();
        md.AppendLine("What each column means:");
        md.AppendLine("- *lasted*: from the start of the fault until it was over (a kill when it landed; a restart when the server answers; a lock when released). A restarted silo is the system healing, not the fault.");
        md.AppendLine("- *sends refused*: sends of 10 jobs the store refused or did not answer during the window; none of them was acknowledged, so none can be lost.");
        md.AppendLine("- *in flight at fault*: jobs started before the fault was over and not finished by then.");
        md.AppendLine("- *lost*: jobs of the window (sent in it, or in flight at its start) never completed by the end of the run.");
        md.AppendLine("- *run twice*: jobs started again during the window after an earlier start: at-least-once delivery at work; in flight = the first run was cut by the fault.");
        md.AppendLine($"- *throughput back*: the end of the last 3 s stretch, after the fault ended, that completed under 80% of the load; 0 when it never dipped; `-` when not within {r.ObserveSeconds:0} s.");
        md.AppendLine($"- *affected jobs done*: when the last job in flight at the fault completed, after the fault ended; `-` when some had not within the run.");
        md.AppendLine();
        md.AppendLine("## What each fault did");
        md.AppendLine();
        foreach (var f in r.Faults)
        {
            md.AppendLine($"- **{f.Name}**: {f.Description}.");
            foreach (var note in f.Notes) md.AppendLine($"  - {note}");
        }

        md.AppendLine();
        return md.ToString();
    }

    private static string Seconds(double? s) => s is { } v ? v.ToString("0.0") : "-";
}
