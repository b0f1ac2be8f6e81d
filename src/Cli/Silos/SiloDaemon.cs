using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace Orleans.Jobs.Cli.Silos;

/// <summary>
/// A silo run as a daemon: started detached (its own session, output appended to a log file, stdin closed), known by
/// its pid file, stopped with SIGTERM and, past a deadline, SIGKILL. The process behind a pid is checked to be a
/// serving silo (its command line has <c>--serve</c>), so a stale pid file never stops someone else's process.
/// </summary>
internal sealed partial class SiloDaemon(string name, DirectoryInfo pidDirectory, DirectoryInfo logDirectory)
{
    /// <summary>The line the stock silo prints once it serves.</summary>
    public const string ReadyLine = "Serving:";

    private const int SigKill = 9;
    private const int SigTerm = 15;

    public string PidFile => Path.Combine(pidDirectory.FullName, name + ".pid");

    public string LogFile => Path.Combine(logDirectory.FullName, name + ".log");

    /// <summary>The command line of the last daemon start (no secrets: the cluster key travels in the environment), for restart.</summary>
    public string CommandLineFile => Path.Combine(pidDirectory.FullName, name + ".cmdline.json");

    /// <summary>What the last daemon start ran, or null.</summary>
    public SiloCommandLine? LastCommandLine()
    {
        try
        {
            return File.Exists(CommandLineFile) ? JsonSerializer.Deserialize<SiloCommandLine>(File.ReadAllText(CommandLineFile)) : null;
        }
        catch (JsonException e)
        {
            throw new OperationFailedException($"{CommandLineFile} is not a saved silo command line ({e.Message}): give the silo options again after '--'.");
        }
    }

    /// <summary>The running silo's pid, or null (a pid file naming a gone or foreign process counts as not running).</summary>
    public int? RunningPid()
    {
        if (!File.Exists(PidFile) || !int.TryParse(File.ReadAllText(PidFile).Trim(), out var pid)) return null;
        return IsServingSilo(pid) ? pid : null;
    }

    /// <exception cref="OperationFailedException">The silo is running.</exception>
    public void EnsureNotRunning()
    {
        if (RunningPid() is { } running)
            throw new OperationFailedException($"silo '{name}' is already running (pid {running}, pid file {PidFile}).");
    }

    /// <summary>When the process started, for uptime.</summary>
    public static DateTimeOffset? StartedAt(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return process.StartTime.ToUniversalTime();
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            return null;
        }
    }

    /// <summary>
    /// Starts the silo detached and waits, up to <paramref name="deadline"/>, for its ready line in the log; returns
    /// its pid and that line.
    /// </summary>
    /// <exception cref="OperationFailedException">It is already running, exited while starting, or did not get ready in time (then it is stopped).</exception>
    public async Task<(int Pid, string Ready)> StartAsync(SiloCommandLine silo, IReadOnlyDictionary<string, string> environment, TimeSpan deadline, CancellationToken cancellationToken)
    {
        EnsureNotRunning();
        Directory.CreateDirectory(pidDirectory.FullName);
        Directory.CreateDirectory(logDirectory.FullName);
        var logStart = File.Exists(LogFile) ? new FileInfo(LogFile).Length : 0;

        // sh redirects the output to the log and closes stdin, then execs setsid, which execs the silo in a new session
        // (the pid stays the same): nothing holds this command's stdout, and a closing terminal does not stop the silo.
        var start = new ProcessStartInfo("/bin/sh") { UseShellExecute = false };
        foreach (var argument in (string[])["-c", "log=\"$1\"; shift; exec setsid \"$@\" </dev/null >>\"$log\" 2>&1", "sh", LogFile, silo.FileName, .. silo.Arguments])
            start.ArgumentList.Add(argument);
        foreach (var (key, value) in environment) start.Environment[key] = value;
        int pid;
        using (var process = Process.Start(start) ?? throw new OperationFailedException("the silo process could not be started."))
            pid = process.Id;
        await File.WriteAllTextAsync(PidFile, pid + Environment.NewLine, cancellationToken);
        await File.WriteAllTextAsync(CommandLineFile, JsonSerializer.Serialize(silo), cancellationToken);

        var clock = Stopwatch.StartNew();
        while (true)
        {
            if (ReadLog(logStart).FirstOrDefault(l => l.StartsWith(ReadyLine, StringComparison.Ordinal)) is { } ready)
                return (pid, ready);
            if (!IsAlive(pid))
            {
                File.Delete(PidFile);
                throw new OperationFailedException($"silo '{name}' exited while starting. The end of its log ({LogFile}):{Environment.NewLine}{string.Join(Environment.NewLine, ReadLog(logStart).TakeLast(20))}");
            }

            if (clock.Elapsed > deadline)
            {
                await StopAsync(TimeSpan.FromSeconds(10), CancellationToken.None);
                throw new OperationFailedException($"silo '{name}' was not serving after {deadline.TotalSeconds:0} s, so it was stopped. The end of its log ({LogFile}):{Environment.NewLine}{string.Join(Environment.NewLine, ReadLog(logStart).TakeLast(20))}");
            }

            await Task.Delay(100, cancellationToken);
        }
    }

    /// <summary>
    /// SIGTERM (a graceful stop: running jobs are released), then SIGKILL if the silo is still there after
    /// <paramref name="deadline"/>. Returns null when it was not running, else whether it had to be killed.
    /// </summary>
    public async Task<StopOutcome?> StopAsync(TimeSpan deadline, CancellationToken cancellationToken)
    {
        if (RunningPid() is not { } pid)
        {
            if (File.Exists(PidFile)) File.Delete(PidFile);
            return null;
        }

        var clock = Stopwatch.StartNew();
        Signal(pid, SigTerm);
        var killed = false;
        while (IsAlive(pid))
        {
            if (!killed && clock.Elapsed > deadline)
            {
                Signal(pid, SigKill);
                killed = true;
            }
            else if (killed && clock.Elapsed > deadline + TimeSpan.FromSeconds(10))
            {
                throw new OperationFailedException($"silo '{name}' (pid {pid}) is still there 10 s after SIGKILL.");
            }

            await Task.Delay(100, cancellationToken);
        }

        File.Delete(PidFile);
        return new StopOutcome(pid, killed, clock.Elapsed);
    }

    /// <summary>Runs the silo attached to this terminal until it exits; returns its exit code.</summary>
    public async Task<int> RunForegroundAsync(SiloCommandLine silo, IReadOnlyDictionary<string, string> environment)
    {
        EnsureNotRunning();
        var start = new ProcessStartInfo(silo.FileName) { UseShellExecute = false };
        foreach (var argument in silo.Arguments) start.ArgumentList.Add(argument);
        foreach (var (key, value) in environment) start.Environment[key] = value;
        Directory.CreateDirectory(pidDirectory.FullName);
        using var process = Process.Start(start) ?? throw new OperationFailedException("the silo process could not be started.");
        await File.WriteAllTextAsync(PidFile, process.Id + Environment.NewLine);
        // Ctrl+C reaches the silo too (same process group); a SIGTERM to this tool is passed on. Either way the silo
        // stops gracefully and this waits for it.
        using var forward = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
        {
            context.Cancel = true;
            Signal(process.Id, SigTerm);
        });
        try
        {
            await process.WaitForExitAsync();
            return process.ExitCode;
        }
        finally
        {
            File.Delete(PidFile);
        }
    }

    private IEnumerable<string> ReadLog(long from)
    {
        if (!File.Exists(LogFile)) return [];
        using var stream = new FileStream(LogFile, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        stream.Seek(Math.Min(from, stream.Length), SeekOrigin.Begin);
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }

    private static bool IsServingSilo(int pid)
    {
        if (!IsAlive(pid)) return false;
        try
        {
            return File.ReadAllText($"/proc/{pid}/cmdline").Split('\0').Contains("--serve");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>True while the process exists and is not a zombie.</summary>
    private static bool IsAlive(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)..] is var rest && !rest.StartsWith('Z') && !rest.StartsWith('X');
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static void Signal(int pid, int signal)
    {
        if (Kill(pid, signal) != 0 && IsAlive(pid))
            throw new OperationFailedException($"could not signal pid {pid}: errno {Marshal.GetLastPInvokeError()}.");
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}

/// <summary>How a silo stopped.</summary>
internal sealed record StopOutcome(int Pid, bool Killed, TimeSpan Took);

/// <summary>What to run: the executable and its arguments (<c>dotnet silo.dll …</c> or the silo's own executable).</summary>
internal sealed record SiloCommandLine(string FileName, IReadOnlyList<string> Arguments);
