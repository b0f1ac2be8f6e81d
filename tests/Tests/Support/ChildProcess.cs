using System.Diagnostics;
using System.Threading.Channels;

namespace Orleans.Jobs.Tests.Support;

/// <summary>
/// A child process whose output is read continuously (so a chatty child never blocks on a full pipe) and whose every
/// wait has a deadline. Stdout lines are queued for <see cref="ReadLineAsync"/>; stderr is kept for failure messages.
/// </summary>
public sealed class ChildProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly Channel<string> _lines = Channel.CreateUnbounded<string>();
    private readonly List<string> _errors = [];
    private readonly Task _readers;

    private ChildProcess(Process process)
    {
        _process = process;
        _readers = Task.WhenAll(PumpAsync(process.StandardOutput, line => _lines.Writer.TryWrite(line)), PumpAsync(process.StandardError, line => { lock (_errors) _errors.Add(line); }))
            .ContinueWith(_ => _lines.Writer.TryComplete(), TaskScheduler.Default);
    }

    /// <summary>Starts <c>dotnet &lt;assembly&gt; args…</c> from the test's output directory.</summary>
    public static ChildProcess StartDotnet(string assembly, params string[] arguments) => StartDotnet(assembly, [], arguments);

    /// <summary>Starts <c>dotnet &lt;assembly&gt; args…</c> with extra environment variables.</summary>
    public static ChildProcess StartDotnet(string assembly, Dictionary<string, string> environment, params string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var (name, value) in environment) start.Environment[name] = value;
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, assembly));
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        return new ChildProcess(Process.Start(start)!);
    }

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    /// <summary>The last lines the child wrote to stderr, for failure messages.</summary>
    public string ErrorTail
    {
        get
        {
            lock (_errors) return string.Join(Environment.NewLine, _errors.TakeLast(20));
        }
    }

    /// <summary>The next stdout line; fails the test at the deadline or when the child exits first.</summary>
    public async Task<string> ReadLineAsync(string what, TimeSpan deadline)
    {
        using var timeout = new CancellationTokenSource(deadline);
        try
        {
            return await _lines.Reader.ReadAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            Assert.Fail($"Timed out after {deadline.TotalSeconds:0}s waiting for {what}. stderr:{Environment.NewLine}{ErrorTail}");
        }
        catch (ChannelClosedException)
        {
            Assert.Fail($"The process exited before {what}. stderr:{Environment.NewLine}{ErrorTail}");
        }

        return "";
    }

    /// <summary>The next stdout line that starts with <paramref name="prefix"/>, skipping log lines; fails the test at the deadline.</summary>
    public async Task<string> ReadLineStartingWithAsync(string prefix, string what, TimeSpan deadline)
    {
        var until = DateTimeOffset.UtcNow + deadline;
        while (true)
        {
            var line = await ReadLineAsync(what, until - DateTimeOffset.UtcNow is { } left && left > TimeSpan.Zero ? left : TimeSpan.FromMilliseconds(1));
            if (line.StartsWith(prefix, StringComparison.Ordinal)) return line;
        }
    }

    /// <summary>Waits for the child to exit; fails the test at the deadline.</summary>
    public async Task<int> WaitForExitAsync(string what, TimeSpan deadline)
    {
        using var timeout = new CancellationTokenSource(deadline);
        try
        {
            await _process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            Assert.Fail($"Timed out after {deadline.TotalSeconds:0}s waiting for {what}. stderr:{Environment.NewLine}{ErrorTail}");
        }

        return _process.ExitCode;
    }

    /// <summary>SIGKILL: no shutdown, no goodbye.</summary>
    public void Kill() => _process.Kill(entireProcessTree: true);

    /// <summary>Asks the child to stop (closes its stdin), then kills it if it has not exited within the deadline.</summary>
    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            try
            {
                _process.StandardInput.Close();
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
                await _process.WaitForExitAsync(timeout.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or IOException or InvalidOperationException)
            {
                if (!_process.HasExited) _process.Kill(entireProcessTree: true);
            }
        }

        await _readers.WaitAsync(TimeSpan.FromSeconds(10)).ContinueWith(_ => { });
        _process.Dispose();
    }

    private static async Task PumpAsync(StreamReader reader, Action<string> line)
    {
        try
        {
            while (await reader.ReadLineAsync() is { } text) line(text);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
        }
    }
}
