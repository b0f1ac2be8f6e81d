using System.CommandLine;
using Orleans.Jobs.Cli.Connection;
using Orleans.Jobs.Grains.Interfaces;
using Spectre.Console;

namespace Orleans.Jobs.Cli.Commands;

/// <summary>
/// <c>jobs unmonitored list|expire</c>: running jobs claimed unmonitored (no lease), by owner, and giving back those of
/// an owner known to be gone. Nothing else ever redoes them: a lease expiry or a dead silo returns monitored jobs only.
/// </summary>
internal static class UnmonitoredCommands
{
    /// <summary>The most running jobs <c>list</c> reads, a page of <see cref="QueueLimits.MaxListPage"/> at a time.</summary>
    private const int MaxScanned = 100_000;

    public static Command Create(CliConsole console)
    {
        var command = new Command("unmonitored", "A queue's running jobs claimed unmonitored (no lease, so nothing returns them if their worker dies): list them by owner, or expire those of an owner that is gone");
        command.Subcommands.Add(List(console));
        command.Subcommands.Add(Expire(console));
        return command;
    }

    private static Command List(CliConsole console)
    {
        var queue = DeadLetterCommands.QueueArgument();
        var command = new Command("list", $"List a queue's running jobs that hold no lease, by owner (reads at most {MaxScanned} running jobs)") { queue };
        command.SetClusterAction(console, async (parse, client, _) =>
        {
            var name = parse.GetValue(queue)!;
            var (owners, complete) = await ReadAsync(client.GetGrain<IQueueGrain>(name));
            if (parse.GetValue(ConnectionOptions.Json))
            {
                console.WriteJson(new { queue = name, owners, complete });
                return ExitCodes.Ok;
            }

            var jobs = owners.Sum(o => o.JobIds.Count);
            if (console.IsTerminal)
            {
                var table = new Table().Title($"unmonitored running jobs of {Markup.Escape(name)} ({jobs})").AddColumns("owner", "jobs", "job ids");
                foreach (var owner in owners) table.AddRow(Markup.Escape(owner.Owner), owner.JobIds.Count.ToString(), Ids(owner));
                console.Ansi.Write(table);
            }
            else
            {
                console.Line($"queue {name}: {jobs} unmonitored running job{(jobs == 1 ? "" : "s")} of {owners.Count} owner{(owners.Count == 1 ? "" : "s")}");
                foreach (var owner in owners) console.Line($"owner {owner.Owner}: {owner.JobIds.Count} job{(owner.JobIds.Count == 1 ? "" : "s")} ({Ids(owner)})");
            }

            if (!complete) console.Line($"stopped after {MaxScanned} running jobs; more may follow.");
            if (owners.Count > 0) console.Line($"to run again the jobs of an owner that is gone: jobs unmonitored expire {name} --owner <owner>");
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command Expire(CliConsole console)
    {
        var queue = DeadLetterCommands.QueueArgument();
        var owner = new Option<string>("--owner") { Description = "The owner whose unmonitored jobs to expire (as 'unmonitored list' shows it); only an owner known to be gone, or its jobs may run twice", Required = true };
        owner.AddRule(name => QueueLimits.ValidateOwner(name, "--owner"));
        var command = new Command("expire", "Expire the unmonitored running jobs of an owner that is gone, as a lease expiry would: each runs again, or is dead-lettered on its last attempt") { queue, owner };
        command.SetClusterAction(console, async (parse, client, _) =>
        {
            var (name, gone) = (parse.GetValue(queue)!, parse.GetValue(owner)!);
            var expired = await client.GetGrain<IQueueGrain>(name).ExpireUnmonitoredJobsAsync(gone);
            if (parse.GetValue(ConnectionOptions.Json)) console.WriteJson(new { queue = name, owner = gone, expired });
            else if (expired == 0) console.Line($"owner '{gone}' holds no unmonitored running job in queue '{name}'; nothing changed.");
            else console.Line($"expired {expired} unmonitored job{(expired == 1 ? "" : "s")} of owner '{gone}' in queue '{name}': each runs again, or is dead-lettered on its last attempt.");
            return ExitCodes.Ok;
        });
        return command;
    }

    /// <summary>The queue's running jobs without a lease, by owner; false when there were more running jobs than <see cref="MaxScanned"/>.</summary>
    private static async Task<(List<OwnerJobs> Owners, bool Complete)> ReadAsync(IQueueGrain queue)
    {
        var byOwner = new SortedDictionary<string, List<long>>(StringComparer.Ordinal);
        var (after, scanned) = (0L, 0);
        while (scanned < MaxScanned)
        {
            var page = await queue.ListJobsAsync(JobListState.Running, after, QueueLimits.MaxListPage);
            foreach (var job in page.Where(j => j.LeaseExpiresAt is null))
            {
                var owner = job.Owner ?? "-";
                if (!byOwner.TryGetValue(owner, out var ids)) byOwner[owner] = ids = [];
                ids.Add(job.JobId);
            }

            scanned += page.Count;
            if (page.Count < QueueLimits.MaxListPage) return (Owners(byOwner), true);
            after = page[^1].JobId;
        }

        return (Owners(byOwner), false);
    }

    private static List<OwnerJobs> Owners(SortedDictionary<string, List<long>> byOwner) => [.. byOwner.Select(o => new OwnerJobs(o.Key, o.Value))];

    private static string Ids(OwnerJobs owner) =>
        owner.JobIds.Count <= 20 ? string.Join(", ", owner.JobIds) : $"{string.Join(", ", owner.JobIds.Take(20))}, … {owner.JobIds.Count - 20} more";

    /// <summary>One owner's unmonitored running jobs, by id.</summary>
    private sealed record OwnerJobs(string Owner, IReadOnlyList<long> JobIds);
}
