namespace Orleans.Jobs.Silo.Code;

/// <summary>
/// The code host (the child process of an <see cref="IsolatedCodeProcess"/>) died before answering: job code failed
/// fast, overflowed its stack, threw on a thread of its own, was killed, or the host could not start. The silo lives on;
/// start a new <see cref="IsolatedCodeProcess"/> to run more.
/// </summary>
public sealed class CodeHostCrashedException : Exception
{
    internal CodeHostCrashedException(int processId, int? exitCode, string what, IReadOnlyList<string> lastErrorLines)
        : base($"The code host (process {processId}) {what}{Describe(exitCode)}. Its last stderr lines:{(lastErrorLines.Count == 0 ? " none" : Environment.NewLine + string.Join(Environment.NewLine, lastErrorLines))}")
    {
        ProcessId = processId;
        ExitCode = exitCode;
        LastErrorLines = lastErrorLines;
    }

    /// <summary>The child's process id.</summary>
    public int ProcessId { get; }

    /// <summary>Its exit code (128 + the signal's number when a signal ended it); null when it could not be read.</summary>
    public int? ExitCode { get; }

    /// <summary>The last lines it wrote to stderr (its log, and what job code wrote to the console).</summary>
    public IReadOnlyList<string> LastErrorLines { get; }

    private static string Describe(int? exitCode) => exitCode switch
    {
        null => "",
        > 128 and < 160 when !OperatingSystem.IsWindows() => $": exit code {exitCode}, signal {exitCode - 128}{SignalName(exitCode.Value - 128)}",
        _ => $": exit code {exitCode}",
    };

    private static string SignalName(int signal) => signal switch
    {
        1 => " (SIGHUP)",
        2 => " (SIGINT)",
        4 => " (SIGILL)",
        6 => " (SIGABRT)",
        7 => " (SIGBUS)",
        8 => " (SIGFPE)",
        9 => " (SIGKILL)",
        11 => " (SIGSEGV)",
        13 => " (SIGPIPE)",
        15 => " (SIGTERM)",
        _ => "",
    };
}
