using System.CommandLine;
using Orleans.Jobs.Cli.Connection;
using Orleans.Jobs.Grains.Interfaces.Heartbeats;

namespace Orleans.Jobs.Cli.Commands;

/// <summary><c>jobs stop-workers</c> (JobMon's <c>workers:stop</c>): every worker finishes its current job and takes no more.</summary>
internal static class StopWorkersCommand
{
    public static Command Create(CliConsole console)
    {
        var command = new Command("stop-workers", "Tell every worker heard from so far to finish its current job and take no more; workers started later run normally");
        command.SetClusterAction(console, async (parse, client, _) =>
        {
            var told = await client.GetGrain<IWorkerHeartbeatGrain>(0).StopWorkersAsync();
            if (parse.GetValue(ConnectionOptions.Json)) console.WriteJson(new { told });
            else console.Line($"stop sent to {told} worker{(told == 1 ? "" : "s")}: each finishes its current job and takes no more.");
            return ExitCodes.Ok;
        });
        return command;
    }
}
