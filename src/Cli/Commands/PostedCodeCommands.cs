using System.CommandLine;
using System.CommandLine.Parsing;
using System.Text.Json;
using Orleans.Jobs.Cli.Connection;
using Orleans.Jobs.Client.Code;
using Orleans.Jobs.Grains.Interfaces.Code;
using Spectre.Console;

namespace Orleans.Jobs.Cli.Commands;

/// <summary>
/// JobMon's posted-code verbs: <c>jobs post</c> (post an assembly, optionally run one of its functions N times),
/// <c>jobs source</c> (the catalog, or one version), <c>jobs clean</c> (remove a version) and <c>jobs gc</c> (forget
/// versions removed long ago).
/// </summary>
internal static class PostedCodeCommands
{
    public static IEnumerable<Command> Create(CliConsole console) => [Post(console), Source(console), Clean(console), Gc(console)];

    private static Argument<string> HashArgument()
    {
        var hash = new Argument<string>("hash") { Description = "The posted code's hash (64 lowercase hex digits, as 'post' and 'source' print)" };
        hash.AddRule(h => PostedCodeRules.ValidateHash(h));
        return hash;
    }

    private static Command Post(CliConsole console)
    {
        var assembly = new Argument<FileInfo>("assembly-path") { Description = "The .NET assembly (.dll) to post" };
        assembly.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<FileInfo>() is { Exists: false } file) result.AddError($"assembly '{file.FullName}' does not exist.");
        });
        var description = new Argument<string>("description") { Description = "What the code is (JobMon's job description)" };
        description.AddRule(d => PostedCodeRules.ValidateDescription(d));
        var function = new Option<string?>("--function") { Description = "Run this function (Namespace.Type.Method) of the posted code as jobs of the built-in 'code' queue" };
        function.AddRule(f => PostedCodeRules.ValidateFunctionName(f, "--function"));
        var args = new Option<string>("--args") { Description = "The function's arguments as JSON", DefaultValueFactory = _ => PostedFunctionCall.NoArgs };
        args.AddRule(a => new PostedFunctionCall(new string('0', 64), "A.B", a).Validate());
        var count = new Option<int>("--count") { Description = "How many jobs to send (with --function)", DefaultValueFactory = _ => 1 };
        count.AddRange(1, 10_000);
        var noWait = new Option<bool>("--no-wait") { Description = "Send the jobs and print their ids without waiting for results" };
        var timeout = new Option<double>("--timeout") { Description = "Seconds to wait for the results", DefaultValueFactory = _ => PostedCode.DefaultTimeout.TotalSeconds };
        timeout.AddRange(0.1, 86_400.0);
        var command = new Command("post", "Post an assembly (its git commit is recorded) and print its hash; with --function, run that function as jobs and print the results. Needs the cluster key")
            { assembly, description, function, args, count, noWait, timeout };
        command.Validators.Add(result =>
        {
            if (result.GetResult(function) is null && (result.GetResult(count) is { Implicit: false } || result.GetResult(args) is { Implicit: false } || result.GetResult(noWait) is not null))
                result.AddError("--args, --count and --no-wait need --function.");
        });
        command.SetKeyedAction(console, "post code", async (parse, code, cancellationToken) =>
        {
            var posted = await Refused(() => code.PostFileAsync(parse.GetValue(assembly)!.FullName, parse.GetValue(description)!, cancellationToken: cancellationToken));
            var json = parse.GetValue(ConnectionOptions.Json);
            if (!json) console.Line($"posted {posted.Hash} ({posted.AssemblyName}, {posted.Size} bytes, commit {posted.GitCommit ?? "-"})");
            if (parse.GetValue(function) is not { } name)
            {
                if (json) console.WriteJson(posted);
                return ExitCodes.Ok;
            }

            var jobIds = new List<long>();
            for (var i = 0; i < parse.GetValue(count); i++) jobIds.Add(await code.SendAsync(posted.Hash, name, parse.GetValue(args)!).WaitAsync(cancellationToken));
            var runs = new List<PostedRun>();
            foreach (var id in jobIds)
            {
                if (parse.GetValue(noWait))
                {
                    runs.Add(new PostedRun(id, null, null));
                    continue;
                }

                try
                {
                    runs.Add(new PostedRun(id, await code.WaitForResultAsync(id, TimeSpan.FromSeconds(parse.GetValue(timeout)), cancellationToken), null));
                }
                catch (Exception e) when (e is PostedFunctionFailedException or TimeoutException)
                {
                    runs.Add(new PostedRun(id, null, e.Message));
                }
            }

            if (json) console.WriteJson(new { posted, function = name, runs });
            else
                foreach (var run in runs)
                    console.Line(parse.GetValue(noWait) ? $"sent job {run.JobId}" : run.Error is null ? $"job {run.JobId}: {run.Result}" : $"job {run.JobId} failed: {run.Error}");
            var failed = runs.Count(r => r.Error is not null);
            if (failed > 0) console.Fail($"{failed} of {runs.Count} run{(runs.Count == 1 ? "" : "s")} of {name} failed.");
            return failed == 0 ? ExitCodes.Ok : ExitCodes.Failed;
        });
        return command;
    }

    private static Command Source(CliConsole console)
    {
        var hash = HashArgument();
        hash.Arity = ArgumentArity.ZeroOrOne;
        var command = new Command("source", "List the posted code (removed versions too), oldest first, or show one version") { hash };
        command.SetClusterAction(console, async (parse, client, cancellationToken) =>
        {
            var code = new PostedCode(client, "");
            var json = parse.GetValue(ConnectionOptions.Json);
            if (parse.GetValue(hash) is { } one)
            {
                var info = await code.GetAsync(one, cancellationToken) ?? throw new OperationFailedException($"nothing was posted under {one}.");
                if (json) console.WriteJson(info);
                else Print(console, info);
                return ExitCodes.Ok;
            }

            var versions = await code.ListAsync(includeRemoved: true, cancellationToken);
            if (json)
            {
                console.WriteJson(versions);
            }
            else if (console.IsTerminal)
            {
                var table = new Table().Title($"posted code ({versions.Count})").AddColumns("hash", "description", "submitted", "commit", "size", "removed");
                foreach (var v in versions)
                    table.AddRow(v.Hash, Markup.Escape(v.Description), v.SubmittedAt.ToString("u"), v.GitCommit ?? "-", v.Size.ToString(), v.RemovedAt?.ToString("u") ?? "-");
                console.Ansi.Write(table);
            }
            else
            {
                console.Line($"posted code: {versions.Count}");
                foreach (var v in versions) Print(console, v);
            }

            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command Clean(CliConsole console)
    {
        var hash = HashArgument();
        var command = new Command("clean", "Remove a posted version: new jobs for it are refused, and silos unload it once its running jobs end. Needs the cluster key") { hash };
        command.SetKeyedAction(console, "remove code", async (parse, code, cancellationToken) =>
        {
            var target = parse.GetValue(hash)!;
            var removed = await Refused(() => code.RemoveAsync(target, cancellationToken));
            var info = await code.GetAsync(target, cancellationToken) ?? throw new OperationFailedException($"nothing was posted under {target}; nothing was removed.");
            if (parse.GetValue(ConnectionOptions.Json)) console.WriteJson(new { hash = target, removed, removedAt = info.RemovedAt });
            else console.Line(removed ? $"removed {target} ({info.Description})." : $"{target} was already removed at {info.RemovedAt:o}.");
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command Gc(CliConsole console)
    {
        var olderThan = Duration.Option("--older-than", "Forget versions removed longer ago than this: whole numbers with a unit d, h, m or s (7d, 1h, 30m, 0s)",
            PostedCodeRules.DefaultCollectAfter, PostedCodeRules.ValidateCollectAge);
        var command = new Command("gc", "Forget removed versions (JobMon's gc): the records they leave so jobs learn of the removal are deleted and they leave 'source', "
            + "so their hashes read as never posted. Live versions are never touched. Needs the cluster key") { olderThan };
        command.SetKeyedAction(console, "collect removed code", async (parse, code, cancellationToken) =>
        {
            var age = parse.GetValue(olderThan);
            var forgotten = await Refused(() => code.CollectGarbageAsync(age, cancellationToken));
            if (parse.GetValue(ConnectionOptions.Json))
            {
                console.WriteJson(new { olderThanSeconds = (long)age.TotalSeconds, forgotten });
                return ExitCodes.Ok;
            }

            foreach (var hash in forgotten) console.Line($"forgot {hash}");
            console.Line($"gc: forgot {forgotten.Count} version{(forgotten.Count == 1 ? "" : "s")} removed more than {Duration.Format(age)} ago; live versions are kept.");
            return ExitCodes.Ok;
        });
        return command;
    }

    /// <summary>Sets the action of a command that needs the cluster key: no key is exit 1 before connecting, a refused key exit 1 too.</summary>
    private static void SetKeyedAction(this Command command, CliConsole console, string what, Func<ParseResult, PostedCode, CancellationToken, Task<int>> work) =>
        command.SetAction(console, async (parse, cancellationToken) =>
        {
            var key = ConnectionOptions.ReadClusterKey(parse) ?? throw MissingKey(what);
            await using var connection = await ClusterConnection.ConnectAsync(parse, cancellationToken);
            return await work(parse, new PostedCode(connection.Client, key), cancellationToken);
        });

    private static void Print(CliConsole console, PostedCodeInfo v) =>
        console.Line($"code {v.Hash} description={JsonSerializer.Serialize(v.Description)} submitted={v.SubmittedAt:o} commit={v.GitCommit ?? "-"} size={v.Size} removed={v.RemovedAt?.ToString("o") ?? "-"}");

    private static OperationFailedException MissingKey(string what) =>
        new($"cannot {what} without the cluster key or another admin key (a Gateway:Keys entry with Role admin): pass --cluster-key-file <path> or set {ConnectionOptions.ClusterKeyVariable}. Nothing was done.");

    /// <summary>A wrong key becomes a clear failure (exit 1).</summary>
    private static async Task<T> Refused<T>(Func<Task<T>> call)
    {
        try
        {
            return await call();
        }
        catch (UnauthorizedAccessException e)
        {
            throw new OperationFailedException($"the cluster refused the cluster key: {e.Message} Nothing was done.", e);
        }
    }

    private sealed record PostedRun(long JobId, string? Result, string? Error);
}
