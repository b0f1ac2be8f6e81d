using System.Collections.Concurrent;
using System.ComponentModel;
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Extensions.Logging;
using Orleans.Jobs.Grains.Code;
using Orleans.Jobs.Grains.Interfaces.Code;

namespace Orleans.Jobs.Silo.Code;

/// <summary>
/// Runs posted functions in a child process (<c>Orleans.Jobs.CodeHost</c>), so job code that fails fast, overflows
/// its stack, throws on a thread of its own or leaks takes down only the child: its calls fail with
/// <see cref="CodeHostCrashedException"/> and the silo starts another. Calls may overlap; the child gets each version
/// as files from the silo's <see cref="PostedCodeCache"/> and never the cluster key. A cancelled call, or disposal,
/// kills the child (job code cannot be stopped otherwise); a dead child stays dead.
/// </summary>
public sealed partial class IsolatedCodeProcess : IAsyncDisposable
{
    /// <summary>The code host's assembly, looked for next to the silo's own assemblies.</summary>
    public const string CodeHostAssembly = "Orleans.Jobs.CodeHost.dll";

    /// <summary>How long <see cref="StartAsync"/> waits by default for the child to say it is ready.</summary>
    public static readonly TimeSpan DefaultStartTimeout = TimeSpan.FromSeconds(30);

    /// <summary>How long a killed or finished child may take to exit and close its pipes.</summary>
    private static readonly TimeSpan ExitTimeout = TimeSpan.FromSeconds(10);

    private const int ErrorLinesKept = 40;
    private const int ErrorLineLength = 1_000;
    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false);

    private readonly Process _process;
    private readonly PostedCodeCache _cache;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<long, TaskCompletionSource<CodeHostReply?>> _calls = new();
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly SemaphoreSlim _writing = new(1, 1);
    private readonly Queue<string> _errorLines = new();
    private readonly Task _errorPump;
    private string? _death;
    private string? _killReason;
    private int? _exitCode;
    private long _lastCallId;
    private int _disposed;

    private IsolatedCodeProcess(Process process, PostedCodeCache cache, ILogger logger)
    {
        _process = process;
        _cache = cache;
        _logger = logger;
        ProcessId = process.Id;
        _errorPump = Task.Run(PumpErrorsAsync);
        _ = Task.Run(PumpRepliesAsync);
    }

    /// <summary>The child's process id.</summary>
    public int ProcessId { get; }

    /// <summary>True once the child died (crashed, killed or disposed): every call fails, start a new one.</summary>
    public bool HasExited => Volatile.Read(ref _death) is not null;

    /// <summary>
    /// Starts a code host with the dotnet host this silo runs on and waits until it is ready, at most
    /// <paramref name="startTimeout"/> (<see cref="DefaultStartTimeout"/> by default).
    /// </summary>
    /// <exception cref="FileNotFoundException">The code host is not next to the silo's assemblies (<see cref="CodeHostAssembly"/>).</exception>
    /// <exception cref="CodeHostCrashedException">The child exited before it was ready.</exception>
    /// <exception cref="TimeoutException">It was not ready in time; it was killed.</exception>
    public static async Task<IsolatedCodeProcess> StartAsync(PostedCodeCache cache, ILogger<IsolatedCodeProcess> logger, TimeSpan? startTimeout = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(cache);
        var codeHost = Path.Combine(AppContext.BaseDirectory, CodeHostAssembly);
        if (!File.Exists(codeHost))
            throw new FileNotFoundException($"The code host {codeHost} is missing: the silo's output must include {CodeHostAssembly} with its runtimeconfig.json and deps.json (the Orleans.Jobs.Silo project references Orleans.Jobs.CodeHost).", codeHost);

        var start = new ProcessStartInfo(DotnetHost())
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardInputEncoding = Utf8,
            StandardOutputEncoding = Utf8,
            StandardErrorEncoding = Utf8,
        };
        start.ArgumentList.Add("exec");
        start.ArgumentList.Add(codeHost);
        // The child runs job code: it gets files, never the key that fetches them.
        foreach (var name in start.Environment.Where(v => v.Key.Contains("ClusterKey", StringComparison.OrdinalIgnoreCase) || cache.IsClusterKey(v.Value)).Select(v => v.Key).ToList())
            start.Environment.Remove(name);

        var host = new IsolatedCodeProcess(Process.Start(start) ?? throw new InvalidOperationException($"Could not start {start.FileName} exec {codeHost}."), cache, logger);
        var limit = startTimeout ?? DefaultStartTimeout;
        try
        {
            await host._ready.Task.WaitAsync(limit, cancellationToken);
        }
        catch (Exception e)
        {
            var lastLines = host.LastErrorLines();
            await host.DisposeAsync();
            if (e is TimeoutException)
                throw new TimeoutException($"The code host (process {host.ProcessId}) did not start within {limit}: it was killed. Its last stderr lines: {string.Join(" | ", lastLines)}");
            throw;
        }

        host.LogStarted(host.ProcessId, codeHost);
        return host;
    }

    /// <summary>
    /// Runs a posted function in the child and returns its result, as <see cref="PostedCodeRunner.RunAsync"/> does in
    /// the silo: refused when the version is not posted or was removed; text as returned, other values as JSON.
    /// </summary>
    /// <exception cref="ArgumentException">The call breaks a rule (hash, function name, args).</exception>
    /// <exception cref="PostedCodeException">The version may not run, the function is unknown or unsupported, or it threw (<see cref="PostedCodeException.Error"/> says where).</exception>
    /// <exception cref="CodeHostCrashedException">The child died before answering (or had died before).</exception>
    /// <exception cref="OperationCanceledException">The call was cancelled: the child was killed.</exception>
    public async Task<string?> RunAsync(PostedFunctionCall call, long? jobId, int attempt, CancellationToken cancellationToken, bool resultAsJson = false)
    {
        ArgumentNullException.ThrowIfNull(call);
        call.Validate();
        ThrowIfDead();
        var files = await _cache.GetAsync(call.Hash, cancellationToken);

        var id = Interlocked.Increment(ref _lastCallId);
        var reply = new TaskCompletionSource<CodeHostReply?>(TaskCreationOptions.RunContinuationsAsynchronously);
        _calls[id] = reply;
        try
        {
            ThrowIfDead(); // it died while the call was being registered: nobody would answer it
            await SendAsync(new CodeHostRequest(id, call.Hash, files.AssemblyPath, files.SymbolsPath, call.Function, call.Args, jobId, attempt, _cache.SiloId, resultAsJson), cancellationToken);
            var answer = await reply.Task.WaitAsync(cancellationToken) ?? throw Crashed();
            return answer.Failure is null ? answer.Result : throw new PostedCodeException(answer.Failure, answer.Error);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            Kill("a call was cancelled"); // job code cannot be stopped otherwise
            throw;
        }
        finally
        {
            _calls.TryRemove(id, out _);
        }
    }

    /// <summary>Kills the child (its calls fail with <see cref="CodeHostCrashedException"/>) and waits, bounded, until it has exited.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        Kill("it was disposed");
        await WithinExitTimeout(_exited.Task);
        if (!_exited.Task.IsCompleted) LogDidNotExit(ProcessId, ExitTimeout);
        _process.Dispose();
    }

    /// <summary>The dotnet host this process runs on: itself when it is <c>dotnet</c>, else the one of its runtime (an apphost's).</summary>
    private static string DotnetHost()
    {
        var executable = OperatingSystem.IsWindows() ? "dotnet.exe" : "dotnet";
        if (Environment.ProcessPath is { } current && Path.GetFileName(current) == executable) return current;
        // <root>/shared/Microsoft.NETCore.App/<version>/ holds the runtime; <root>/dotnet is its host.
        var root = Path.GetFullPath(Path.Combine(RuntimeEnvironment.GetRuntimeDirectory(), "..", "..", ".."));
        var host = Path.Combine(root, executable);
        return File.Exists(host) ? host : executable;
    }

    private async Task SendAsync(CodeHostRequest request, CancellationToken cancellationToken)
    {
        var line = CodeHostProtocol.ToLine(request);
        await _writing.WaitAsync(cancellationToken);
        try
        {
            await _process.StandardInput.WriteLineAsync(line.AsMemory(), cancellationToken);
            await _process.StandardInput.FlushAsync(cancellationToken);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            // The pipe broke (or the host was disposed): the child is dying. Wait (bounded) for its exit code, for the message.
            await WithinExitTimeout(_exited.Task);
            throw Crashed();
        }
        finally
        {
            _writing.Release();
        }
    }

    private async Task PumpRepliesAsync()
    {
        try
        {
            while (await _process.StandardOutput.ReadLineAsync() is { } line)
            {
                var reply = CodeHostProtocol.FromLine<CodeHostReply>(line);
                if (reply == CodeHostReply.Ready) _ready.TrySetResult();
                else if (reply is not null && _calls.TryGetValue(reply.Id, out var call)) call.TrySetResult(reply);
                else LogStrayLine(ProcessId, line.Length);
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            // The pipe closed under us: the child is gone.
        }

        await OnExitAsync();
    }

    /// <summary>stdout closed: the child exited (or is about to). Records how, then fails every call still waiting.</summary>
    private async Task OnExitAsync()
    {
        try
        {
            var exit = _process.WaitForExitAsync();
            await WithinExitTimeout(exit);
            if (!exit.IsCompleted)
            {
                Kill("it closed its stdout but did not exit"); // it cannot answer anymore
                await WithinExitTimeout(exit);
            }

            await WithinExitTimeout(_errorPump); // its last words, for the message
            _exitCode = _process.HasExited ? _process.ExitCode : null;
        }
        catch (InvalidOperationException)
        {
            // Disposed meanwhile: the exit code is not known.
        }

        // A full fence: a call registered after this sees the death, or is seen by the loop below.
        Interlocked.Exchange(ref _death, Volatile.Read(ref _killReason) is { } reason ? $"was killed because {reason}" : "exited");
        var crash = Crashed();
        if (_killReason is null) LogCrashed(ProcessId, crash.Message);
        _ready.TrySetException(crash);
        foreach (var call in _calls.Values) call.TrySetResult(null);
        _exited.TrySetResult();
    }

    private async Task PumpErrorsAsync()
    {
        try
        {
            while (await _process.StandardError.ReadLineAsync() is { } line)
            {
                LogChildLine(ProcessId, line);
                lock (_errorLines)
                {
                    _errorLines.Enqueue(line.Length > ErrorLineLength ? line[..ErrorLineLength] + "…" : line);
                    if (_errorLines.Count > ErrorLinesKept) _errorLines.Dequeue();
                }
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            // The pipe closed under us: the child is gone.
        }
    }

    private IReadOnlyList<string> LastErrorLines()
    {
        lock (_errorLines) return [.. _errorLines];
    }

    private CodeHostCrashedException Crashed()
    {
        var death = Volatile.Read(ref _death); // read first: the exit code is written before it
        return new(ProcessId, _exitCode, death ?? "died", LastErrorLines());
    }

    private void ThrowIfDead()
    {
        if (HasExited) throw Crashed();
    }

    /// <summary>Waits for <paramref name="task"/> at most <see cref="ExitTimeout"/>, never throwing: the caller looks at what finished.</summary>
    private static Task WithinExitTimeout(Task task) => task.WaitAsync(ExitTimeout).ContinueWith(_ => { }, TaskScheduler.Default);

    private void Kill(string reason)
    {
        Interlocked.CompareExchange(ref _killReason, reason, null);
        try
        {
            _process.Kill(entireProcessTree: true);
        }
        catch (Exception e) when (e is InvalidOperationException or Win32Exception or NotSupportedException)
        {
            // It has exited already.
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Started code host {ProcessId} ({CodeHost})")]
    private partial void LogStarted(int processId, string codeHost);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Code host {ProcessId} crashed: {Message}")]
    private partial void LogCrashed(int processId, string message);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Code host {ProcessId} did not exit within {Timeout} of being killed")]
    private partial void LogDidNotExit(int processId, TimeSpan timeout);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Code host {ProcessId} wrote a line of {Length} characters to stdout that is no reply: job code writing to the process's stdout directly?")]
    private partial void LogStrayLine(int processId, int length);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Code host {ProcessId}: {Line}")]
    private partial void LogChildLine(int processId, string line);
}
