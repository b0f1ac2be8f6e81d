using System.CommandLine;
using Orleans.Jobs.Cli.Commands;
using Orleans.Jobs.Cli.Connection;

namespace Orleans.Jobs.Cli.Silos;

/// <summary>
/// <c>jobs silo start|stop|restart|status</c>: the stock silo (src/Silo) as a daemon with a pid file and a log, or in
/// the foreground. Everything after <c>--</c> goes to the silo (<c>jobs silo start -- --connection "..."</c>).
/// </summary>
internal static class SiloCommands
{
    /// <summary>The stock silo's assembly, looked for next to this tool unless <c>--silo</c> says where.</summary>
    public const string SiloAssembly = "Orleans.Jobs.Silo.dll";

    private static readonly string Home = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".orleans-jobs");

    private static readonly Option<string> Name = new("--name")
    {
        Description = "The silo's name on this machine: its pid file is <pid-dir>/<name>.pid, its log <log-dir>/<name>.log",
        DefaultValueFactory = _ => "silo",
    };

    private static readonly Option<DirectoryInfo> PidDir = new("--pid-dir")
    {
        Description = "Where pid files go",
        DefaultValueFactory = _ => new DirectoryInfo(Path.Combine(Home, "run")),
    };

    private static readonly Option<DirectoryInfo> LogDir = new("--log-dir")
    {
        Description = "Where daemon logs go (appended)",
        DefaultValueFactory = _ => new DirectoryInfo(Path.Combine(Home, "logs")),
    };

    private static readonly Option<FileInfo?> SiloPath = new("--silo")
    {
        Description = $"The silo to run: its .dll (run with dotnet) or executable (default: {SiloAssembly} next to this tool)",
    };

    private static readonly Option<double> Timeout = new("--timeout")
    {
        Description = "Seconds to wait for the silo to serve (start) or to exit after SIGTERM before SIGKILL (stop)",
        DefaultValueFactory = _ => 60,
    };

    static SiloCommands()
    {
        Name.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<string>() is not { Length: > 0 and <= 64 } name || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.') || name.StartsWith('.'))
                result.AddError("--name must be 1 to 64 of A-Z, a-z, 0-9, '-', '_' and '.', not starting with '.'.");
        });
        Timeout.AddRange(1.0, 3600.0);
    }

    public static Command Create(CliConsole console)
    {
        var command = new Command("silo", "Run an Orleans.Jobs silo on this machine: as a daemon (pid file, log) or in the foreground");
        command.Subcommands.Add(Start(console, restart: false));
        command.Subcommands.Add(Start(console, restart: true));
        command.Subcommands.Add(Stop(console));
        command.Subcommands.Add(Status(console));
        return command;
    }

    private static Command Start(CliConsole console, bool restart)
    {
        var foreground = new Option<bool>("--foreground") { Description = "Run attached to this terminal until the silo exits (Ctrl+C stops it gracefully)" };
        var siloArguments = new Argument<string[]>("silo-options")
        {
            Description = "Options for the silo, after '--' (see dotnet Orleans.Jobs.Silo.dll --help), e.g. -- --connection \"Host=...\" --gateway-port 30001",
            Arity = ArgumentArity.ZeroOrMore,
        };
        var command = restart
            ? new Command("restart", "Stop the daemon silo (if running), then start it again: with the silo and options of its last start unless new ones are given") { Name, PidDir, LogDir, SiloPath, Timeout, siloArguments }
            : new Command("start", "Start a silo as a daemon (or --foreground); waits until it serves") { Name, PidDir, LogDir, SiloPath, Timeout, foreground, siloArguments };
        command.SetAction(console, async (parse, cancellationToken) =>
        {
            if (OperatingSystem.IsWindows()) throw new OperationFailedException("daemon silos need a Unix system (pid files, SIGTERM); on Windows run the silo directly.");
            var daemon = Daemon(parse);
            if (!restart) daemon.EnsureNotRunning(); // before looking for the silo: say what is wrong first
            var given = parse.GetValue(siloArguments) ?? [];
            var silo = restart && given.Length == 0 && parse.GetValue(SiloPath) is null && daemon.LastCommandLine() is { } last
                ? last
                : CommandLine(parse, given);
            var environment = new Dictionary<string, string>();
            if (ConnectionOptions.ReadClusterKey(parse) is { } key) environment[ConnectionOptions.ClusterKeyVariable] = key; // the environment, never the process list
            var timeout = TimeSpan.FromSeconds(parse.GetValue(Timeout));
            var json = parse.GetValue(ConnectionOptions.Json);
            if (!restart && parse.GetValue(foreground))
            {
                var exit = await daemon.RunForegroundAsync(silo, environment);
                return exit == 0 ? ExitCodes.Ok : ExitCodes.Failed;
            }

            StopOutcome? stopped = null;
            if (restart) stopped = await daemon.StopAsync(timeout, cancellationToken);
            var (pid, ready) = await daemon.StartAsync(silo, environment, timeout, cancellationToken);
            if (json)
            {
                console.WriteJson(new { name = parse.GetValue(Name), running = true, pid, pidFile = daemon.PidFile, logFile = daemon.LogFile, ready, restartedFrom = stopped?.Pid });
            }
            else
            {
                if (stopped is not null) console.Line($"stopped silo '{parse.GetValue(Name)}' (pid {stopped.Pid}){(stopped.Killed ? " with SIGKILL" : "")}");
                console.Line($"started silo '{parse.GetValue(Name)}': pid {pid}, pid file {daemon.PidFile}, log {daemon.LogFile}");
                console.Line(ready);
            }

            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command Stop(CliConsole console)
    {
        var command = new Command("stop", "Stop the daemon silo: SIGTERM (a graceful stop), then SIGKILL after --timeout") { Name, PidDir, LogDir, Timeout };
        command.SetAction(console, async (parse, cancellationToken) =>
        {
            var outcome = await Daemon(parse).StopAsync(TimeSpan.FromSeconds(parse.GetValue(Timeout)), cancellationToken);
            var name = parse.GetValue(Name);
            if (parse.GetValue(ConnectionOptions.Json))
                console.WriteJson(new { name, wasRunning = outcome is not null, pid = outcome?.Pid, killed = outcome?.Killed ?? false, seconds = outcome?.Took.TotalSeconds });
            else if (outcome is null)
                console.Line($"silo '{name}' is not running.");
            else
                console.Line($"stopped silo '{name}' (pid {outcome.Pid}) in {outcome.Took.TotalSeconds:0.0} s{(outcome.Killed ? " with SIGKILL: it did not exit after SIGTERM" : "")}.");
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command Status(CliConsole console)
    {
        var command = new Command("status", "Is the daemon silo running? Its pid and uptime") { Name, PidDir, LogDir };
        command.SetAction(console, (parse, _) =>
        {
            var daemon = Daemon(parse);
            var pid = daemon.RunningPid();
            var uptime = pid is { } p && SiloDaemon.StartedAt(p) is { } started ? DateTimeOffset.UtcNow - started : (TimeSpan?)null;
            var name = parse.GetValue(Name);
            if (parse.GetValue(ConnectionOptions.Json))
                console.WriteJson(new { name, running = pid is not null, pid, uptimeSeconds = uptime?.TotalSeconds, pidFile = daemon.PidFile, logFile = daemon.LogFile });
            else if (pid is null)
                console.Line($"silo '{name}' is not running (pid file {daemon.PidFile}).");
            else
                console.Line($"silo '{name}' is running: pid {pid}, up {(uptime is { } u ? Duration.Format(u) : "?")}, log {daemon.LogFile}.");
            return Task.FromResult(ExitCodes.Ok);
        });
        return command;
    }

    private static SiloDaemon Daemon(ParseResult parse) => new(parse.GetValue(Name)!, parse.GetValue(PidDir)!, parse.GetValue(LogDir)!);

    private static SiloCommandLine CommandLine(ParseResult parse, string[] siloArguments)
    {
        var path = parse.GetValue(SiloPath)?.FullName ?? Path.Combine(AppContext.BaseDirectory, SiloAssembly);
        if (!File.Exists(path))
            throw new UsageException($"the silo was not found at '{path}': build src/Silo and pass --silo <path to {SiloAssembly}>.");
        string[] arguments = ["--serve", "--skip-sample", .. siloArguments.Where(a => a is not "--serve" and not "--skip-sample")];
        return path.EndsWith(".dll", StringComparison.OrdinalIgnoreCase)
            ? new SiloCommandLine("dotnet", [path, .. arguments])
            : new SiloCommandLine(path, arguments);
    }
}
