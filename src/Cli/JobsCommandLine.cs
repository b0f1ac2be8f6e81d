using System.CommandLine;
using Orleans.Jobs.Cli.Commands;
using Orleans.Jobs.Cli.Connection;
using Orleans.Jobs.Cli.Silos;

namespace Orleans.Jobs.Cli;

/// <summary>The <c>jobs</c> command tree and how its outcomes become exit codes.</summary>
internal static class JobsCommandLine
{
    public static RootCommand Build(CliConsole console)
    {
        var root = new RootCommand("jobs: manage an Orleans.Jobs cluster (JobMon's jm). Exit codes: 0 ok, 1 the operation failed, 2 bad arguments (nothing changed).");
        ConnectionOptions.AddTo(root);
        root.Subcommands.Add(SiloCommands.Create(console));
        root.Subcommands.Add(NetCommand.Create(console));
        root.Subcommands.Add(StatusCommand.Create(console));
        root.Subcommands.Add(StopWorkersCommand.Create(console));
        root.Subcommands.Add(DeadLetterCommands.Create(console));
        root.Subcommands.Add(UnmonitoredCommands.Create(console));
        foreach (var command in PostedCodeCommands.Create(console)) root.Subcommands.Add(command);
        root.Subcommands.Add(SweepCommand.Create(console));
        return root;
    }

    public static async Task<int> RunAsync(string[] args, CliConsole console)
    {
        if (ConnectionOptions.RefuseKeyOnCommandLine(args) is { } refusal)
        {
            console.Fail(refusal);
            return ExitCodes.BadArguments;
        }

        var parse = Build(console).Parse(StatusCommand.RewriteJobsVerb(args, ConnectionOptions.WithValues));
        if (parse.Errors.Count > 0)
        {
            foreach (var error in parse.Errors) console.Fail(error.Message);
            console.Error.WriteLine("Try 'jobs --help' (or '<command> --help'). Nothing was done.");
            return ExitCodes.BadArguments;
        }

        using var cancel = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            cancel.Cancel();
        };
        return await parse.InvokeAsync(new InvocationConfiguration { Output = console.Out, Error = console.Error }, cancel.Token);
    }

    /// <summary>
    /// Sets a command's action, turning its failures into exit codes: <see cref="UsageException"/> and input the
    /// cluster refused (<see cref="ArgumentException"/>) 2, <see cref="OperationFailedException"/> and other errors from
    /// the cluster 1, each with its message on stderr.
    /// </summary>
    public static void SetAction(this Command command, CliConsole console, Func<ParseResult, CancellationToken, Task<int>> action) =>
        command.SetAction(async (parse, cancellationToken) =>
        {
            try
            {
                return await action(parse, cancellationToken);
            }
            catch (UsageException e)
            {
                console.Fail($"{e.Message} Nothing was done.");
                return ExitCodes.BadArguments;
            }
            catch (OperationFailedException e)
            {
                console.Fail(e.Message);
                return ExitCodes.Failed;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                console.Fail("interrupted.");
                return ExitCodes.Failed;
            }
            catch (ArgumentException e)
            {
                // The cluster checked the input and refused it before changing anything: a usage error like any other.
                console.Fail($"the cluster refused the arguments: {e.Message} Nothing was done.");
                return ExitCodes.BadArguments;
            }
            catch (Exception e) when (e is OrleansException or TimeoutException or InvalidOperationException)
            {
                console.Fail($"the cluster refused or failed the call: {e.Message}");
                return ExitCodes.Failed;
            }
        });

    /// <summary>Connects, runs <paramref name="work"/> with the client, and disconnects.</summary>
    public static void SetClusterAction(this Command command, CliConsole console, Func<ParseResult, IClusterClient, CancellationToken, Task<int>> work) =>
        command.SetAction(console, async (parse, cancellationToken) =>
        {
            await using var connection = await ClusterConnection.ConnectAsync(parse, cancellationToken);
            return await work(parse, connection.Client, cancellationToken);
        });
}
