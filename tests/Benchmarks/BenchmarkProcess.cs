using System.Globalization;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;

namespace Orleans.Jobs.Benchmarks;

/// <summary>
/// A process of tests/ClusterProcess — a silo (PostgreSQL store, ADO.NET membership) or a client — for what needs a
/// real process: a SIGKILL, or memory of its own to measure. Its output is read continuously, so a chatty process never
/// blocks on a full pipe.
/// </summary>
public sealed class BenchmarkProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly Channel<string> _lines = Channel.CreateUnbounded<string>();
    private readonly Queue<string> _errors = new();
    private readonly Task _pumps;

    private BenchmarkProcess(Process process, int? gatewayPort)
    {
        _process = process;
        GatewayPort = gatewayPort;
        _pumps = Task.WhenAll(
                PumpAsync(process.StandardOutput, line => _lines.Writer.TryWrite(line)),
                PumpAsync(process.StandardError, line =>
                {
                    lock (_errors)
                    {
                        _errors.Enqueue(line);
                        if (_errors.Count > 20) _errors.Dequeue();
                    }
                }))
            .ContinueWith(_ => _lines.Writer.TryComplete(), TaskScheduler.Default);
    }

    /// <summary>
    /// Starts <c>silo &lt;connection&gt; &lt;schema&gt; &lt;queue&gt;</c> on free ports; <paramref name="configuration"/>
    /// adds <c>--Section:Key=value</c> settings (cluster id, membership).
    /// </summary>
    public static BenchmarkProcess StartSilo(string connection, string schema, string queue, bool hang, IEnumerable<string> configuration) =>
        StartSilo(connection, schema, queue, hang ? ["--hang"] : [], configuration, stockSiloRuntime: false);

    /// <summary>
    /// Starts <c>silo &lt;connection&gt; &lt;schema&gt; &lt;queue&gt; &lt;switches&gt;</c> on free ports; with
    /// <paramref name="stockSiloRuntime"/> it runs on the stock silo's runtimeconfig.json (its GC settings) instead of
    /// tests/ClusterProcess's own, so its memory and speed are those of a silo as shipped.
    /// </summary>
    public static BenchmarkProcess StartSilo(string connection, string schema, string queue, string[] switches, IEnumerable<string> configuration, bool stockSiloRuntime)
    {
        var gatewayPort = FreePort();
        return Start(new[] { "silo", connection, schema, queue }.Concat(switches)
            .Concat([$"--Cluster:SiloPort={FreePort()}", $"--Cluster:GatewayPort={gatewayPort}"]).Concat(configuration), gatewayPort, stockSiloRuntime);
    }

    /// <summary>Starts tests/ClusterProcess with <paramref name="arguments"/> (its mode first).</summary>
    public static BenchmarkProcess Start(IEnumerable<string> arguments, int? gatewayPort = null, bool stockSiloRuntime = false) =>
        Start("Orleans.Jobs.ClusterProcess.dll", arguments, gatewayPort, stockSiloRuntime);

    /// <summary>
    /// Starts tests/EmptySilo, an Orleans silo with nothing of Orleans.Jobs in it, on free ports and the stock silo's
    /// runtimeconfig.json: the floor an idle silo's memory is compared with.
    /// </summary>
    public static BenchmarkProcess StartEmptySilo()
    {
        var gatewayPort = FreePort();
        return Start("Orleans.Jobs.EmptySilo.dll", [FreePort().ToString(CultureInfo.InvariantCulture), gatewayPort.ToString(CultureInfo.InvariantCulture)], gatewayPort, stockSiloRuntime: true);
    }

    private static BenchmarkProcess Start(string program, IEnumerable<string> arguments, int? gatewayPort, bool stockSiloRuntime)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        if (stockSiloRuntime)
        {
            start.ArgumentList.Add("exec");
            start.ArgumentList.Add("--runtimeconfig");
            start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Orleans.Jobs.Silo.runtimeconfig.json"));
        }

        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, program));
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        return new BenchmarkProcess(Process.Start(start)!, gatewayPort);
    }

    /// <summary>The operating system's id of the process.</summary>
    public int Id => _process.Id;

    /// <summary>A silo's gateway port; null for a client.</summary>
    public int? GatewayPort { get; }

    /// <summary>The next line of standard output; null once the process closed it.</summary>
    public async Task<string?> ReadLineAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await _lines.Reader.ReadAsync(cancellationToken);
        }
        catch (ChannelClosedException)
        {
            return null;
        }
    }

    /// <summary>Writes a line to the process's standard input (a <c>GO</c>: see tests/ClusterProcess).</summary>
    public async Task WriteLineAsync(string line)
    {
        await _process.StandardInput.WriteLineAsync(line);
        await _process.StandardInput.FlushAsync();
    }

    /// <summary>The last lines of standard error.</summary>
    public string Errors
    {
        get
        {
            lock (_errors) return string.Join(Environment.NewLine, _errors);
        }
    }

    /// <summary>Skips log lines until <c>READY &lt;owner&gt;</c>; returns the owner of the silo's claims.</summary>
    public async Task<string> ReadyAsync(TimeSpan deadline)
    {
        using var timeout = new CancellationTokenSource(deadline);
        try
        {
            while (true)
            {
                var line = await _lines.Reader.ReadAsync(timeout.Token);
                if (line.StartsWith("READY ", StringComparison.Ordinal)) return line["READY ".Length..].Trim();
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ChannelClosedException)
        {
            throw new InvalidOperationException($"The silo process did not say READY within {deadline.TotalSeconds:0} s. stderr:{Environment.NewLine}{Errors}", e);
        }
    }

    /// <summary>True once the process has ended (killed, or on its own).</summary>
    public bool HasExited
    {
        get
        {
            try { return _process.HasExited; }
            catch (InvalidOperationException) { return true; } // disposed: gone
        }
    }

    /// <summary>SIGKILL: no shutdown, no goodbye.</summary>
    public void Kill() => _process.Kill(entireProcessTree: true);

    /// <summary>Stops the process gracefully (a silo: closes its stdin); kills it if it has not exited within 30 s.</summary>
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

        await _pumps.WaitAsync(TimeSpan.FromSeconds(10)).ContinueWith(_ => { });
        _process.Dispose();
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
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
