namespace Orleans.Jobs.Tests.Support;

/// <summary>
/// Silo and client processes of one multi-process test (tests/ClusterProcess), in one Orleans cluster on PostgreSQL
/// (or Redis membership); every process is stopped when this is disposed.
/// </summary>
public sealed class ClusterProcesses(string schema) : IAsyncDisposable
{
    private readonly List<ChildProcess> _processes = [];

    /// <summary>The cluster and service id of these processes.</summary>
    public string ClusterId { get; } = $"proof-{Guid.NewGuid():N}";

    /// <summary>The silos started so far.</summary>
    public List<ClusterSiloProcess> Silos { get; } = [];

    /// <summary>Client arguments naming the cluster and every silo's gateway.</summary>
    public string[] ClientArguments() =>
        [$"--Cluster:ClusterId={ClusterId}", $"--Cluster:ServiceId={ClusterId}", .. Silos.Select((s, i) => $"--Cluster:Gateways:{i}=127.0.0.1:{s.GatewayPort}")];

    /// <summary>
    /// Starts a silo process (<paramref name="command"/> with <paramref name="arguments"/> before the cluster settings)
    /// and waits for its "READY owner" line. Start silos one at a time: each joins the cluster the last one formed.
    /// </summary>
    public async Task<ClusterSiloProcess> StartSiloAsync(string command, string[] arguments, params string[] membership)
    {
        var gatewayPort = StockSilo.FreePort();
        var process = Start(command, [TestPostgres.ConnectionString, schema, .. arguments,
            $"--Cluster:ClusterId={ClusterId}", $"--Cluster:ServiceId={ClusterId}",
            $"--Cluster:SiloPort={StockSilo.FreePort()}", $"--Cluster:GatewayPort={gatewayPort}", .. membership]);
        var parts = (await process.ReadLineStartingWithAsync("READY", "a silo process to start", TimeSpan.FromSeconds(90))).Split(' ');
        Assert.Equal("READY", parts[0]);
        var silo = new ClusterSiloProcess(process, parts[1], gatewayPort);
        Silos.Add(silo);
        return silo;
    }

    /// <summary>Starts a process of tests/ClusterProcess.</summary>
    public ChildProcess Start(string command, string[] arguments)
    {
        var process = ChildProcess.StartDotnet("Orleans.Jobs.ClusterProcess.dll", [command, .. arguments]);
        _processes.Add(process);
        return process;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var process in _processes) await process.DisposeAsync();
    }
}

/// <summary>A silo process: its claim owner (silo address and generation) and its gateway port.</summary>
public sealed record ClusterSiloProcess(ChildProcess Process, string SiloId, int GatewayPort);

/// <summary>Base of multi-process tests: a fresh PostgreSQL schema and the silo and client processes started on it, all stopped afterwards.</summary>
public abstract class MultiProcessTest : PostgresSchemaTest
{
    private ClusterProcesses? _processes;

    /// <summary>The processes of this test, created on first use.</summary>
    protected ClusterProcesses Processes => _processes ??= new ClusterProcesses(Schema);

    public override async ValueTask DisposeAsync()
    {
        if (_processes is not null) await _processes.DisposeAsync();
        await base.DisposeAsync();
    }
}
