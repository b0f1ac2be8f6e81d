using System.CommandLine;
using Orleans.Jobs.Cli.Connection;
using Orleans.Jobs.Grains.Interfaces;
using Orleans.Jobs.Grains.Interfaces.JobSets;
using Orleans.Jobs.Grains.Interfaces.Pipelines;
using Orleans.Jobs.Grains.Interfaces.WorkStreams;
using Spectre.Console;

namespace Orleans.Jobs.Cli.Commands;

/// <summary>
/// <c>jobs status</c> (alias <c>jobs jobs</c>, JobMon's <c>jm jobs</c>): progress of named queues, jobsets,
/// pipelines and work streams. Progress bars are drawn only on a terminal; otherwise one plain line per item (or JSON).
/// </summary>
internal static class StatusCommand
{
    public static Command Create(CliConsole console)
    {
        var queues = new Option<string[]>("--queue") { Description = "A queue: its jobs by state (repeatable)", AllowMultipleArgumentsPerToken = false };
        var jobSets = new Option<string[]>("--jobset") { Description = "A jobset id: its progress (repeatable)", AllowMultipleArgumentsPerToken = false };
        var pipelines = new Option<string[]>("--pipeline") { Description = "A pipeline id: the state of each step (repeatable)", AllowMultipleArgumentsPerToken = false };
        var streams = new Option<string[]>("--stream") { Description = "A work stream (client) id: records received per stage (repeatable)", AllowMultipleArgumentsPerToken = false };
        var watch = new Option<bool>("--watch") { Description = "Keep refreshing until everything named is done (Ctrl+C stops)" };
        var interval = new Option<double>("--interval") { Description = "Seconds between refreshes with --watch", DefaultValueFactory = _ => 1 };
        queues.AddRule(name => QueueLimits.ValidateQueueName(name, "--queue"));
        jobSets.AddRule(id => JobSetRules.ValidateJobSetId(id, "--jobset"));
        pipelines.AddRule(id => PipelineRules.ValidatePipelineId(id, "--pipeline"));
        streams.AddRule(id => WorkStreamRules.ValidateStreamId(id, "--stream"));
        interval.AddRange(0.1, 3600.0);
        var listing = new JobListing();

        var command = new Command("status", "Progress of queues (--queue), jobsets (--jobset), pipelines (--pipeline) and work streams (--stream), or with --state a page of the queues' jobs in that state; 'jobs jobs' is the same (JobMon's jm jobs)") { queues, jobSets, pipelines, streams, watch, interval };
        foreach (var option in listing.Options) command.Options.Add(option);
        command.Validators.Add(result =>
        {
            if ((result.GetValue(queues)?.Length ?? 0) + (result.GetValue(jobSets)?.Length ?? 0) + (result.GetValue(pipelines)?.Length ?? 0) + (result.GetValue(streams)?.Length ?? 0) == 0)
                result.AddError("Name at least one --queue, --jobset, --pipeline or --stream.");
            var others = new (Option Option, bool Given)[] { (jobSets, result.GetValue(jobSets)?.Length > 0), (pipelines, result.GetValue(pipelines)?.Length > 0), (streams, result.GetValue(streams)?.Length > 0), (watch, result.GetValue(watch)) };
            listing.Validate(result, result.GetValue(queues)?.Length ?? 0, [.. others.Where(o => o.Given).Select(o => o.Option.Name)]);
        });
        command.SetClusterAction(console, async (parse, client, cancellationToken) =>
        {
            if (listing.Requested(parse))
            {
                await listing.WriteAsync(parse, client, parse.GetValue(queues) ?? [], console, parse.GetValue(ConnectionOptions.Json));
                return ExitCodes.Ok;
            }

            var snapshot = new Snapshot(client, parse.GetValue(queues) ?? [], parse.GetValue(jobSets) ?? [], parse.GetValue(pipelines) ?? [], parse.GetValue(streams) ?? []);
            var json = parse.GetValue(ConnectionOptions.Json);
            var period = TimeSpan.FromSeconds(parse.GetValue(interval));
            if (!parse.GetValue(watch))
            {
                var items = await snapshot.ReadAsync();
                if (json) console.WriteJson(items);
                else if (console.IsTerminal) console.Ansi.Write(Table(items));
                else foreach (var item in items) console.Line(item.Line());
                return ExitCodes.Ok;
            }

            if (console.IsTerminal && !json)
            {
                await WatchLiveAsync(console, snapshot, period, cancellationToken);
                return ExitCodes.Ok;
            }

            // Not a terminal: one block of lines (or one JSON document) per refresh, until done.
            while (true)
            {
                var items = await snapshot.ReadAsync();
                if (json) console.WriteJson(items);
                else foreach (var item in items) console.Line(item.Line());
                if (items.All(i => i.Finished)) return ExitCodes.Ok;
                await Task.Delay(period, cancellationToken);
            }
        });
        return command;
    }

    /// <summary>
    /// <c>jobs jobs …</c> is <c>jobs status …</c> (JobMon's <c>jm jobs</c>). The tool itself is named <c>jobs</c>, so
    /// System.CommandLine cannot take <c>jobs</c> as an alias: the verb is rewritten before parsing.
    /// </summary>
    public static string[] RewriteJobsVerb(string[] args, IReadOnlySet<string> optionsWithValues)
    {
        for (var i = 0; i < args.Length; i++)
        {
            if (args[i] == "--") break;
            if (optionsWithValues.Contains(args[i])) { i++; continue; }
            if (args[i].StartsWith('-')) continue;
            return args[i] == "jobs" ? [.. args[..i], "status", .. args[(i + 1)..]] : args;
        }

        return args;
    }

    private static async Task WatchLiveAsync(CliConsole console, Snapshot snapshot, TimeSpan period, CancellationToken cancellationToken)
    {
        await console.Ansi.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .StartAsync(async context =>
            {
                var tasks = new Dictionary<string, ProgressTask>();
                while (true)
                {
                    var items = await snapshot.ReadAsync();
                    foreach (var item in items)
                    {
                        if (!tasks.TryGetValue(item.Key, out var task)) tasks[item.Key] = task = context.AddTask(item.Key);
                        task.Description = Markup.Escape(item.Line());
                        task.MaxValue = Math.Max(1, item.Total);
                        task.Value = item.Done;
                        if (item.Finished) task.StopTask();
                    }

                    if (items.All(i => i.Finished)) return;
                    await Task.Delay(period, cancellationToken);
                }
            });
    }

    private static Table Table(IReadOnlyList<Progress> items)
    {
        var table = new Table().AddColumns("what", "progress", "done", "state");
        foreach (var item in items)
        {
            var width = 20;
            var filled = item.Total == 0 ? 0 : (int)Math.Round(width * (double)item.Done / item.Total);
            table.AddRow(Markup.Escape(item.Key), $"[green]{new string('━', filled)}[/][grey]{new string('━', width - filled)}[/]", $"{item.Done}/{item.Total}", Markup.Escape(item.Detail));
        }

        return table;
    }

    /// <summary>Reads every named item once.</summary>
    private sealed class Snapshot(IClusterClient client, string[] queues, string[] jobSets, string[] pipelines, string[] streams)
    {
        public async Task<IReadOnlyList<Progress>> ReadAsync()
        {
            var reads = queues.Select(ReadQueueAsync).Concat(jobSets.Select(ReadJobSetAsync)).Concat(pipelines.Select(ReadPipelineAsync)).Concat(streams.Select(ReadStreamAsync));
            return await Task.WhenAll(reads);
        }

        private async Task<Progress> ReadQueueAsync(string queue)
        {
            var c = await client.GetGrain<IQueueGrain>(queue).GetCountsAsync();
            var total = c.Available + c.Scheduled + c.Running + c.Completed + c.DeadLettered;
            return new Progress("queue", queue, total, c.Completed + c.DeadLettered, c.Available + c.Scheduled + c.Running == 0,
                $"available={c.Available} scheduled={c.Scheduled} running={c.Running} completed={c.Completed} dead-lettered={c.DeadLettered}", c);
        }

        private async Task<Progress> ReadJobSetAsync(string id)
        {
            var p = await client.GetGrain<IJobSetGrain>(id).GetProgressAsync();
            return new Progress("jobset", id, p.Total, p.Completed + p.Failed, p.IsDone,
                $"unclaimed={p.Unclaimed} running={p.Running} completed={p.Completed} failed={p.Failed} setup={(p.SetupComplete ? "complete" : "incomplete")}", p);
        }

        private async Task<Progress> ReadPipelineAsync(string id)
        {
            var s = await client.GetGrain<IPipelineGrain>(id).GetStatusAsync();
            var done = s.Steps.Count(step => step.State is StepState.Done or StepState.Failed or StepState.Cancelled);
            var detail = $"state={s.State} " + string.Join(" ", s.Steps.Select(step => $"{step.Worker}={step.State}"))
                + (s.Error is null ? "" : $" failed-step={s.FailedStep} error={s.Error}");
            return new Progress("pipeline", id, s.Steps.Count, done, s.IsFinished || s.State == PipelineState.Unknown, detail, s);
        }

        private async Task<Progress> ReadStreamAsync(string id)
        {
            var stream = client.GetGrain<IWorkStreamGrain>(id);
            if (await stream.GetInfoAsync() is null)
                return new Progress("stream", id, 0, 0, true, "unknown: no client opened a stream with this id", new { id, known = false });
            var p = await stream.GetProgressAsync();
            var detail = (p.Closed ? "closed " : "open ") + string.Join(" ", p.Stages.Select(s => $"{s.Name}=forked:{s.Forked},received:{s.Received}/{s.Expected}{(s.Complete ? ",complete" : "")}"));
            return new Progress("stream", id, p.Stages.Sum(s => s.Expected), p.Stages.Sum(s => s.Received), p.Closed || p.Stages.All(s => s.Complete), detail, p);
        }
    }

    /// <summary>One item's progress: done out of total, and its details.</summary>
    private sealed record Progress(string Kind, string Name, long Total, long Done, bool Finished, string Detail, object Details)
    {
        public string Key => $"{Kind} {Name}";

        public string Line() => $"{Key}: {Done}/{Total} done, {Detail}";
    }
}
