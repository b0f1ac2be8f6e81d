using System.CommandLine;
using Orleans.Jobs.Cli.Connection;
using Orleans.Jobs.Grains.Interfaces;
using Spectre.Console;

namespace Orleans.Jobs.Cli.Commands;

/// <summary>
/// <c>jobs dead-letters list|requeue|purge</c>: a queue's jobs that ran out of attempts, giving one fresh attempts, and
/// deleting them for good.
/// </summary>
internal static class DeadLetterCommands
{
    public static Command Create(CliConsole console)
    {
        var command = new Command("dead-letters", "A queue's dead-lettered jobs (out of attempts): list them, requeue one with fresh attempts, or purge them");
        command.Subcommands.Add(List(console));
        command.Subcommands.Add(Requeue(console));
        command.Subcommands.Add(Purge(console));
        return command;
    }

    /// <summary>A queue-name argument, checked at parse time (exit code 2).</summary>
    internal static Argument<string> QueueArgument()
    {
        var queue = new Argument<string>("queue") { Description = "The queue" };
        queue.AddRule(name => QueueLimits.ValidateQueueName(name, "queue"));
        return queue;
    }

    private static Command List(CliConsole console)
    {
        var queue = QueueArgument();
        var limit = new Option<int>("--limit") { Description = "The most jobs to list, oldest first", DefaultValueFactory = _ => 100 };
        limit.AddRange(1, QueueLimits.MaxDeadLetterListLimit);
        var command = new Command("list", "List a queue's dead-lettered jobs, oldest first") { queue, limit };
        command.SetClusterAction(console, async (parse, client, _) =>
        {
            var jobs = await client.GetGrain<IQueueGrain>(parse.GetValue(queue)!).GetDeadLettersAsync(parse.GetValue(limit));
            if (parse.GetValue(ConnectionOptions.Json))
            {
                console.WriteJson(jobs);
            }
            else if (console.IsTerminal)
            {
                var table = new Table().Title($"dead letters of {Markup.Escape(parse.GetValue(queue)!)} ({jobs.Count})").AddColumns("id", "attempts", "enqueued", "finished", "last error", "payload");
                foreach (var job in jobs)
                    table.AddRow(job.JobId.ToString(), $"{job.Attempt}/{job.MaxAttempts}", job.EnqueuedAt.ToString("u"), job.FinishedAt?.ToString("u") ?? "-", Markup.Escape(Shorten(job.LastError)), Markup.Escape(Shorten(job.Payload)));
                console.Ansi.Write(table);
            }
            else
            {
                console.Line($"dead letters: {jobs.Count}");
                foreach (var job in jobs)
                    console.Line($"job {job.JobId} attempts={job.Attempt}/{job.MaxAttempts} finished={job.FinishedAt?.ToString("o") ?? "-"} error={Shorten(job.LastError)} payload={Shorten(job.Payload)}");
            }

            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command Requeue(CliConsole console)
    {
        var queue = QueueArgument();
        var jobId = new Argument<long>("job-id") { Description = "The dead-lettered job's id (from 'dead-letters list')" };
        jobId.AddRange(1L, long.MaxValue);
        var command = new Command("requeue", "Make a dead-lettered job available again with fresh attempts") { queue, jobId };
        command.SetClusterAction(console, async (parse, client, _) =>
        {
            var (name, id) = (parse.GetValue(queue)!, parse.GetValue(jobId));
            var grain = client.GetGrain<IQueueGrain>(name);
            var outcome = await grain.RequeueDeadLetterAsync(id);
            if (outcome != JobUpdateOutcome.Updated)
            {
                var job = await grain.GetJobAsync(id);
                throw new OperationFailedException(job is null
                    ? $"queue '{name}' has no job {id}; nothing was requeued."
                    : $"job {id} of queue '{name}' is {job.State}, not dead-lettered; nothing was requeued.");
            }

            if (parse.GetValue(ConnectionOptions.Json)) console.WriteJson(new { queue = name, jobId = id, requeued = true });
            else console.Line($"requeued job {id} of queue '{name}': available again with fresh attempts.");
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command Purge(CliConsole console)
    {
        var queue = QueueArgument();
        var jobIds = new Option<long[]>("--job-id") { Description = "Purge only this job if it is dead-lettered (repeatable); without it, every dead letter of the queue", AllowMultipleArgumentsPerToken = false };
        var yes = new Option<bool>("--yes") { Description = "Confirm: purged jobs are deleted for good" };
        var command = new Command("purge", "Delete dead-lettered jobs for good: every one of the queue, or those named with --job-id. Jobs in other states are never deleted. Needs --yes")
            { queue, jobIds, yes };
        command.Validators.Add(result =>
        {
            if (result.GetResult(jobIds)?.Tokens.Any(t => !long.TryParse(t.Value, out _)) == true) return; // System.CommandLine names what does not parse
            var ids = Named(result.GetValue(jobIds));
            try
            {
                QueueLimits.ValidatePurgeJobIds(ids, "--job-id");
            }
            catch (ArgumentException e)
            {
                result.AddError(e.Message);
            }

            if (!result.GetValue(yes))
                result.AddError($"purge deletes for good {(ids is null ? "every dead-lettered job" : $"job{(ids.Length == 1 ? "" : "s")} {string.Join(", ", ids)}, if dead-lettered,")} of queue '{result.GetValue(queue)}'; add --yes to do it.");
        });
        command.SetClusterAction(console, async (parse, client, _) =>
        {
            var (name, ids) = (parse.GetValue(queue)!, Named(parse.GetValue(jobIds)));
            var purged = await client.GetGrain<IQueueGrain>(name).PurgeDeadLettersAsync(ids);
            if (parse.GetValue(ConnectionOptions.Json)) console.WriteJson(new { queue = name, jobIds = ids, purged });
            else if (ids is null) console.Line($"purged {purged} dead letter{(purged == 1 ? "" : "s")} of queue '{name}'.");
            else console.Line($"purged {purged} of the {ids.Length} job{(ids.Length == 1 ? "" : "s")} named in queue '{name}'{(purged < ids.Length ? "; the others are not dead letters there and were left alone" : "")}.");
            return ExitCodes.Ok;
        });
        return command;
    }

    /// <summary>The distinct ids given with --job-id, or null when none were: then the purge takes every dead letter.</summary>
    private static long[]? Named(long[]? ids) => ids is { Length: > 0 } ? [.. ids.Distinct()] : null;

    internal static string Shorten(string? text) => text is null ? "-" : text.Length > 80 ? text[..80] + "…" : text.ReplaceLineEndings(" ");
}
