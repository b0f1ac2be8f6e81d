using System.CommandLine;
using Orleans.Jobs.Grains.Interfaces;
using Spectre.Console;

namespace Orleans.Jobs.Cli.Commands;

/// <summary>
/// <c>jobs jobs --queue q --state running [--after N --limit N]</c>: a page of a queue's jobs in one state, by id
/// (<see cref="IQueueGrain.ListJobsAsync"/>). Lost work shows here: running jobs name their owner, and unmonitored
/// ones have no lease, so a worker that died holding them is seen.
/// </summary>
internal sealed class JobListing
{
    private static readonly Dictionary<string, JobListState> States = new(StringComparer.Ordinal)
    {
        ["available"] = JobListState.Available,
        ["scheduled"] = JobListState.Scheduled,
        ["running"] = JobListState.Running,
        ["completed"] = JobListState.Completed,
        ["dead-lettered"] = JobListState.DeadLettered,
    };

    public Option<string> State { get; } = new("--state") { Description = $"List the jobs of each --queue in this state, by id, instead of counting them: {string.Join(", ", States.Keys)}" };

    public Option<long> After { get; } = new("--after") { Description = "With --state: list jobs with ids above this, the last id of the page before (0: from the start)", DefaultValueFactory = _ => 0 };

    public Option<int> Limit { get; } = new("--limit") { Description = $"With --state: the most jobs to list (1 to {QueueLimits.MaxListPage})", DefaultValueFactory = _ => 100 };

    public JobListing()
    {
        State.AcceptOnlyFromAmong([.. States.Keys]);
        After.AddRange(0L, long.MaxValue);
        Limit.AddRange(1, QueueLimits.MaxListPage);
    }

    public IEnumerable<Option> Options => [State, After, Limit];

    /// <summary>Checks that --after and --limit come with --state, and --state with queues only; <paramref name="others"/> names what else was given.</summary>
    public void Validate(System.CommandLine.Parsing.CommandResult result, int queues, IReadOnlyList<string> others)
    {
        if (result.GetResult(State) is null)
        {
            if (result.GetResult(After) is { Implicit: false } || result.GetResult(Limit) is { Implicit: false })
                result.AddError("--after and --limit page through a listing: give --state too.");
            return;
        }

        if (queues == 0 || others.Count > 0)
            result.AddError($"--state lists the jobs of --queue queues: name at least one --queue{(others.Count > 0 ? $", and no {string.Join(", ", others)}" : "")}.");
    }

    /// <summary>True when --state was given: the command lists jobs instead of showing progress.</summary>
    public bool Requested(ParseResult parse) => parse.GetValue(State) is not null;

    public async Task WriteAsync(ParseResult parse, IClusterClient client, string[] queues, CliConsole console, bool json)
    {
        var stateName = parse.GetValue(State)!;
        var (state, after, limit) = (States[stateName], parse.GetValue(After), parse.GetValue(Limit));
        var pages = await Task.WhenAll(queues.Select(async queue =>
        {
            var jobs = await client.GetGrain<IQueueGrain>(queue).ListJobsAsync(state, after, limit);
            return new Page(queue, stateName, jobs, jobs.Count == limit ? jobs[^1].JobId : null);
        }));

        if (json)
        {
            console.WriteJson(pages);
            return;
        }

        foreach (var page in pages)
        {
            if (console.IsTerminal)
            {
                var table = new Table().Title($"{stateName} jobs of {Markup.Escape(page.Queue)} ({page.Jobs.Count})").AddColumns("id", "attempt", "owner", "lease until", "visible at", "last error", "payload");
                foreach (var job in page.Jobs)
                    table.AddRow(job.JobId.ToString(), $"{job.Attempt}/{job.MaxAttempts}", Markup.Escape(job.Owner ?? "-"), Lease(job), job.VisibleAt.ToString("u"), Markup.Escape(DeadLetterCommands.Shorten(job.LastError)), Markup.Escape(DeadLetterCommands.Shorten(job.Payload)));
                console.Ansi.Write(table);
            }
            else
            {
                console.Line($"queue {page.Queue}: {page.Jobs.Count} {stateName} job{(page.Jobs.Count == 1 ? "" : "s")}");
                foreach (var job in page.Jobs)
                    console.Line($"job {job.JobId} attempt={job.Attempt}/{job.MaxAttempts} owner={job.Owner ?? "-"} lease={Lease(job)} visible={job.VisibleAt:o} error={DeadLetterCommands.Shorten(job.LastError)} payload={DeadLetterCommands.Shorten(job.Payload)}");
            }

            if (page.NextAfter is { } next) console.Line($"more may follow: --after {next}");
        }
    }

    private static string Lease(JobInfo job) => job.State != JobState.Running ? "-" : job.LeaseExpiresAt?.ToString("o") ?? "unmonitored";

    /// <summary>One queue's page; <see cref="NextAfter"/> is the cursor of the next page when this one is full.</summary>
    private sealed record Page(string Queue, string State, IReadOnlyList<JobInfo> Jobs, long? NextAfter);
}
