using System.CommandLine;
using Orleans.Jobs.Cli.Connection;
using Orleans.Jobs.Grains.Interfaces.Heartbeats;
using Orleans.Runtime;
using Spectre.Console;

namespace Orleans.Jobs.Cli.Commands;

/// <summary><c>jobs net</c> (JobMon's <c>jm net</c>): the silos in Orleans membership and the workers by last heartbeat.</summary>
internal static class NetCommand
{
    public static Command Create(CliConsole console)
    {
        var all = new Option<bool>("--all") { Description = "Also list silos that are not active (joining, shutting down, dead)" };
        var command = new Command("net", "Silos (Orleans membership) and workers with their heartbeats, the most recent beat first") { all };
        command.SetClusterAction(console, async (parse, client, _) =>
        {
            var hosts = await client.GetGrain<IManagementGrain>(0).GetDetailedHosts(onlyActive: !parse.GetValue(all));
            var workers = await client.GetGrain<IWorkerHeartbeatGrain>(0).ListAsync();
            var now = DateTimeOffset.UtcNow;
            var silos = hosts.OrderBy(h => h.SiloName, StringComparer.Ordinal).Select(h => new SiloRow(
                h.SiloAddress.ToParsableString(), h.SiloName, h.HostName, h.Status.ToString(), Utc(h.StartTime), Utc(h.IAmAliveTime))).ToList();
            var workerRows = workers.OrderByDescending(w => w.LastBeat).Select(w => new WorkerRow(
                w.Beat.WorkerId, w.Beat.Kind, w.Beat.Host, w.Beat.Status, now - w.StatusSince, w.Beat.CurrentJob, w.Beat.JobsDone,
                w.LastBeat, w.StopRequested)).ToList();
            if (parse.GetValue(ConnectionOptions.Json))
                console.WriteJson(new { silos, workers = workerRows });
            else if (console.IsTerminal)
                Draw(console, silos, workerRows, now);
            else
                Print(console, silos, workerRows, now);
            return ExitCodes.Ok;
        });
        return command;
    }

    private static void Print(CliConsole console, List<SiloRow> silos, List<WorkerRow> workers, DateTimeOffset now)
    {
        console.Line($"silos: {silos.Count}");
        foreach (var s in silos)
            console.Line($"silo {s.Name} {s.Address} host={s.Host} status={s.Status} up={Duration.Format(now - s.StartTime)}");
        console.Line($"workers: {workers.Count}");
        foreach (var w in workers)
            console.Line($"worker {w.Id} kind={w.Kind} host={w.Host} status={w.Status} for={Duration.Format(w.TimeInStatus)} job={w.CurrentJob ?? "-"} done={w.JobsDone} last-beat={Duration.Format(now - w.LastBeat)} ago{(w.StopRequested ? " stop-requested" : "")}");
    }

    private static void Draw(CliConsole console, List<SiloRow> silos, List<WorkerRow> workers, DateTimeOffset now)
    {
        var siloTable = new Table().Title($"silos ({silos.Count})").AddColumns("name", "address", "host", "status", "up");
        foreach (var s in silos)
            siloTable.AddRow(Markup.Escape(s.Name), Markup.Escape(s.Address), Markup.Escape(s.Host), s.Status, Duration.Format(now - s.StartTime));
        var workerTable = new Table().Title($"workers ({workers.Count})").AddColumns("id", "kind", "host", "status", "in status", "current job", "done", "last beat");
        foreach (var w in workers)
            workerTable.AddRow(Markup.Escape(w.Id), Markup.Escape(w.Kind), Markup.Escape(w.Host),
                (w.Status == WorkerStatus.Working ? "[green]" : w.Status == WorkerStatus.Stopping ? "[yellow]" : "[grey]") + w.Status + "[/]",
                Duration.Format(w.TimeInStatus), Markup.Escape(w.CurrentJob ?? "-"), w.JobsDone.ToString(), Duration.Format(now - w.LastBeat) + " ago");
        console.Ansi.Write(siloTable);
        console.Ansi.Write(workerTable);
    }

    private static DateTimeOffset Utc(DateTime time) => new(DateTime.SpecifyKind(time, DateTimeKind.Utc));

    private sealed record SiloRow(string Address, string Name, string Host, string Status, DateTimeOffset StartTime, DateTimeOffset LastAlive);

    private sealed record WorkerRow(string Id, string Kind, string Host, WorkerStatus Status, TimeSpan TimeInStatus, string? CurrentJob, long JobsDone, DateTimeOffset LastBeat, bool StopRequested);
}
