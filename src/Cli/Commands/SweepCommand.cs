using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Orleans.Jobs.Cli.Connection;
using Orleans.Jobs.Client.Sweeps;
using Orleans.Jobs.Grains.Interfaces.Sweeps;
using Spectre.Console;

namespace Orleans.Jobs.Cli.Commands;

/// <summary>
/// <c>jobs sweep</c> (JobMon's postsweep/post2Dsweep, N-D): post every parameter set of a grid as jobs of a queue,
/// skipping sets posted before; <c>--results</c> lists the queue's experiments.
/// </summary>
internal static class SweepCommand
{
    public static Command Create(CliConsole console)
    {
        var queue = DeadLetterCommands.QueueArgument();
        var parameters = new Option<string[]>("--param") { Description = "An axis of listed values, name=v1,v2,v3 (each value JSON if it parses, else a string); repeatable", AllowMultipleArgumentsPerToken = false };
        var ranges = new Option<string[]>("--range") { Description = "An axis of integers, name=start:stop[:step] (inclusive); repeatable. Axes: the --param ones, then the --range ones; the first varies slowest", AllowMultipleArgumentsPerToken = false };
        var ground = new Option<string?>("--ground") { Description = "Ground truth kept with each new experiment, a JSON object" };
        ground.AddRule(g => ParseGround(g));
        var description = new Option<string?>("--description") { Description = "What this posting is" };
        var results = new Option<bool>("--results") { Description = "List the queue's experiments (key, parameters, state, result, ground) instead of posting" };
        var command = new Command("sweep", "Post a parameter sweep as jobs of a queue (sets posted before are skipped), or list its experiments with --results")
            { queue, parameters, ranges, ground, description, results };
        command.Validators.Add(result =>
        {
            var axes = (result.GetValue(parameters)?.Length ?? 0) + (result.GetValue(ranges)?.Length ?? 0);
            if (result.GetValue(results) && (axes > 0 || result.GetResult(ground) is not null || result.GetResult(description) is not null))
                result.AddError("--results lists experiments: it takes no --param, --range, --ground or --description.");
            else if (!result.GetValue(results) && axes == 0)
                result.AddError("give the sweep's axes with --param name=v1,v2 and/or --range name=start:stop[:step], or --results to list experiments.");
        });
        command.SetAction(console, async (parse, cancellationToken) =>
        {
            var name = parse.GetValue(queue)!;
            var json = parse.GetValue(ConnectionOptions.Json);
            if (parse.GetValue(results))
            {
                await using var reader = await ClusterConnection.ConnectAsync(parse, cancellationToken);
                PrintExperiments(console, name, await Sweep.GetResultsAsync(reader.Client, name).WaitAsync(cancellationToken), json);
                return ExitCodes.Ok;
            }

            var grid = Grid(parse.GetValue(parameters) ?? [], parse.GetValue(ranges) ?? []); // bad axes: exit 2 before connecting
            var groundTruth = parse.GetValue(ground) is { } g ? ParseGround(g) : null;
            await using var connection = await ClusterConnection.ConnectAsync(parse, cancellationToken);
            var posting = await Sweep.PostAsync(connection.Client, name, grid, groundTruth, parse.GetValue(description)).WaitAsync(cancellationToken);
            if (json)
                console.WriteJson(new { queue = name, jobHash = posting.JobHash, sets = grid.Count, posted = posting.Posted.Count, alreadyPosted = posting.AlreadyPosted.Count, postedKeys = posting.Posted });
            else
                console.Line($"sweep of queue '{name}' (job hash {posting.JobHash}): {grid.Count} parameter sets, {posting.Posted.Count} posted, {posting.AlreadyPosted.Count} already posted.");
            return ExitCodes.Ok;
        });
        return command;
    }

    private static void PrintExperiments(CliConsole console, string queue, IReadOnlyList<SweepExperiment> experiments, bool json)
    {
        if (json)
        {
            console.WriteJson(experiments);
        }
        else if (console.IsTerminal)
        {
            var table = new Table().Title($"experiments of {Markup.Escape(queue)} ({experiments.Count})").AddColumns("key", "parameters", "state", "result", "ground");
            foreach (var e in experiments)
                table.AddRow(Markup.Escape(e.Key), Markup.Escape(e.Parameters), e.State?.ToString() ?? "gone", Markup.Escape(e.Result ?? e.Error ?? "-"), Markup.Escape(e.Ground ?? "-"));
            console.Ansi.Write(table);
        }
        else
        {
            console.Line($"experiments: {experiments.Count}");
            foreach (var e in experiments)
                console.Line($"experiment {e.Key} parameters={e.Parameters} state={e.State?.ToString() ?? "gone"} result={e.Result ?? "-"}{(e.Error is null ? "" : $" error={e.Error}")} ground={e.Ground ?? "-"}");
        }
    }

    /// <summary>The grid from <c>--param</c> and <c>--range</c> axes.</summary>
    /// <exception cref="UsageException">An axis is malformed, a name repeats, or the grid is too large.</exception>
    private static SweepGrid Grid(string[] parameters, string[] ranges)
    {
        var grid = new SweepGrid();
        try
        {
            foreach (var axis in parameters)
            {
                var (name, values) = Split(axis, "--param", "name=v1,v2,v3");
                grid.Values(name, values.Split(',').Select(Value));
            }

            foreach (var axis in ranges)
            {
                var (name, text) = Split(axis, "--range", "name=start:stop[:step]");
                var bounds = text.Split(':');
                var numbers = bounds.Select(b => long.TryParse(b, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n) ? n : (long?)null).ToArray();
                if (bounds.Length is < 2 or > 3 || numbers.Any(n => n is null))
                    throw new UsageException($"--range '{axis}' must be name=start:stop[:step] with integers.");
                grid.Range(name, numbers[0]!.Value, numbers[1]!.Value, bounds.Length == 3 ? numbers[2]!.Value : 1);
            }
        }
        catch (ArgumentException e)
        {
            throw new UsageException(e.Message);
        }

        return grid;
    }

    private static (string Name, string Values) Split(string axis, string option, string shape)
    {
        var equals = axis.IndexOf('=');
        if (equals <= 0 || equals == axis.Length - 1) throw new UsageException($"{option} '{axis}' must be {shape}.");
        return (axis[..equals].Trim(), axis[(equals + 1)..]);
    }

    /// <summary>A listed value: JSON when it parses (numbers, true, "quoted"), else the text itself.</summary>
    private static JsonNode? Value(string text)
    {
        try
        {
            return JsonNode.Parse(text);
        }
        catch (JsonException)
        {
            return JsonValue.Create(text);
        }
    }

    /// <exception cref="ArgumentException">It is not a JSON object.</exception>
    private static JsonObject ParseGround(string text)
    {
        try
        {
            return JsonNode.Parse(text) as JsonObject ?? throw new ArgumentException($"--ground '{text}' must be a JSON object such as {{\"accuracy\": 0.93}}.");
        }
        catch (JsonException e)
        {
            throw new ArgumentException($"--ground is not valid JSON: {e.Message}");
        }
    }
}
