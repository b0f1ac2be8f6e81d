using System.Collections.Concurrent;
using System.Diagnostics;
using Npgsql;
using Orleans.Jobs.Grains.Interfaces;
using Orleans.Jobs.Storage;
using Orleans.Jobs.Storage.PostgreSql;
using Orleans.Jobs.Tests.Support;

namespace Orleans.Jobs.Benchmarks.Chaos;

/// <summary>
/// What the faults act on: three silo processes of tests/ClusterProcess (Redis membership, PostgreSQL through a proxy
/// the run controls), a producer sending a steady load of monitored jobs straight to the store, and a supervisor that
/// restarts a silo process that ends on its own (as systemd would) and notes it.
/// </summary>
public sealed class ChaosCluster : IAsyncDisposable
{
    public const string Schema = "chaos";
    public const string Queue = "chaos";
    public const string SiloApplication = "chaos-silo";
    public const int SiloCount = 3;

    /// <summary>The silos' connection pool (Npgsql's default is 100): small enough that the pool-exhaustion fault fills it.</summary>
    public const int SiloPoolSize = 20;

    /// <summary>The steady load: this many jobs every <see cref="SendEvery"/>.</summary>
    public const int JobsPerSend = 10;
    public static readonly TimeSpan SendEvery = TimeSpan.FromMilliseconds(100);

    private readonly string _siloConnection;
    private readonly string[] _siloConfiguration;
    private readonly BenchmarkProcess?[] _silos = new BenchmarkProcess?[SiloCount];
    private readonly bool[] _downOnPurpose = new bool[SiloCount];
    private readonly ConcurrentQueue<string> _notes = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly PostgresJobStore _producer;
    private Task _producing = Task.CompletedTask;
    private Task _supervising = Task.CompletedTask;
    private string _window = "warm-up";

    private readonly Func<long, NewJob> _nextJob;
    private long _made;

    private ChaosCluster(BenchmarkDatabase database, TcpProxy proxy, string siloConnection, string[] siloConfiguration, PostgresJobStore producer, ChaosServers servers, Func<long, NewJob> nextJob)
    {
        _nextJob = nextJob;
        Database = database;
        Proxy = proxy;
        _siloConnection = siloConnection;
        _siloConfiguration = siloConfiguration;
        _producer = producer;
        Servers = servers;
    }

    public BenchmarkDatabase Database { get; }

    public TcpProxy Proxy { get; }

    public ChaosServers Servers { get; }

    /// <summary>The client port of the LISTEN connection the half-open fault froze, and how many silos listened then.</summary>
    public (int Port, int Listeners)? FrozenListener { get; set; }

    /// <summary>Every job the store acknowledged, with the window (fault) it was sent in.</summary>
    public ConcurrentDictionary<long, string> Sent { get; } = new();

    /// <summary>Sends the store refused or did not answer, per window (retried with the next send; none is acknowledged).</summary>
    public ConcurrentDictionary<string, int> SendFailures { get; } = new();

    /// <summary>The chaos run's load: no-op jobs of the default priority, each tried up to 10 times.</summary>
    public static NewJob NoOpJob(long n) => new("{}", 0, null, false, 10);

    /// <summary>Starts the silos and the load; <paramref name="nextJob"/> makes the load's n-th job (<see cref="NoOpJob"/> by default).</summary>
    public static async Task<ChaosCluster> StartAsync(ChaosServers servers, TextWriter log, Func<long, NewJob>? nextJob = null)
    {
        var harness = new NpgsqlConnectionStringBuilder(servers.PostgresConnection) { ApplicationName = "chaos-harness" };
        var database = new BenchmarkDatabase(harness.ConnectionString);
        await database.ExecuteAsync(BenchmarkSql.DropSchema(Schema));
        var producer = new PostgresJobStore(new PostgresStoreOptions { ConnectionString = harness.ConnectionString, Schema = Schema });
        await producer.StartAsync(CancellationToken.None); // migrates: job tables and Orleans' tables
        await database.ExecuteAsync(BenchmarkSql.CreateExecutions(Schema));

        var proxy = new TcpProxy("127.0.0.1", new NpgsqlConnectionStringBuilder(harness.ConnectionString).Port);
        var siloConnection = new NpgsqlConnectionStringBuilder(harness.ConnectionString) { Port = proxy.Port, ApplicationName = SiloApplication, MaxPoolSize = SiloPoolSize }.ConnectionString;
        var cluster = $"chaos-{Guid.NewGuid():N}"[..20];
        string[] configuration = [$"--Cluster:ClusterId={cluster}", $"--Cluster:ServiceId={cluster}", $"--Cluster:Redis={servers.Redis}"];
        var chaos = new ChaosCluster(database, proxy, siloConnection, configuration, producer, servers, nextJob ?? NoOpJob);
        await Task.WhenAll(Enumerable.Range(0, SiloCount).Select(chaos.StartSiloAsync));
        log.WriteLine($"  {SiloCount} silo processes ready (Redis membership at {servers.Redis}; PostgreSQL through proxy port {proxy.Port})");
        chaos._producing = chaos.ProduceAsync(chaos._stop.Token);
        chaos._supervising = chaos.SuperviseAsync(chaos._stop.Token);
        return chaos;
    }

    /// <summary>The operating system's ids of the silo processes running now.</summary>
    public IReadOnlyList<int> SiloProcessIds => [.. _silos.Where(s => s is { HasExited: false }).Select(s => s!.Id)];

    /// <summary>Names the window that sends from now on belong to.</summary>
    public void BeginWindow(string name)
    {
        Volatile.Write(ref _window, name);
        StruckAt = null;
    }

    /// <summary>SIGKILLs a silo; the supervisor leaves it down until <see cref="StartSiloAsync"/>.</summary>
    public void KillSilo(int index)
    {
        _downOnPurpose[index] = true;
        _silos[index]?.Kill();
        StruckAt = DateTime.UtcNow; // a kill of a busy process takes a while to land; the fault is this moment
    }

    /// <summary>
    /// When a fault that is over at once (a kill) landed, if the fault says so; else the fault is over when its
    /// injection returns. Cleared by <see cref="BeginWindow"/>.
    /// </summary>
    public DateTime? StruckAt { get; private set; }

    /// <summary>Starts (or restarts) a silo process and waits until it says READY.</summary>
    public async Task StartSiloAsync(int index)
    {
        if (_silos[index] is { } old)
        {
            _silos[index] = null; // the supervisor no longer looks at it
            await old.DisposeAsync();
        }
        var silo = BenchmarkProcess.StartSilo(_siloConnection, Schema, Queue, hang: false, _siloConfiguration);
        _silos[index] = silo;
        await silo.ReadyAsync(TimeSpan.FromMinutes(2));
        _downOnPurpose[index] = false;
    }

    /// <summary>Restarts every silo that is down on purpose.</summary>
    public Task HealAsync() => Task.WhenAll(Enumerable.Range(0, SiloCount).Where(i => _downOnPurpose[i]).Select(StartSiloAsync));

    /// <summary>Notes taken since the last call (silos that ended on their own).</summary>
    public List<string> TakeNotes()
    {
        var notes = new List<string>();
        while (_notes.TryDequeue(out var note)) notes.Add(note);
        return notes;
    }

    /// <summary>Stops sending and waits until every sent job has left the hot table (or the limit passed).</summary>
    public async Task<long> DrainAsync(TimeSpan limit)
    {
        await _stop.CancelAsync();
        await _producing;
        var clock = Stopwatch.StartNew();
        long left;
        while ((left = await Database.ScalarAsync<long>(BenchmarkSql.ChaosUnfinished(Schema, Queue))) > 0 && clock.Elapsed < limit)
            await Task.Delay(500);
        return left;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _producing;
        await _supervising;
        foreach (var silo in _silos)
            if (silo is not null) await silo.DisposeAsync();
        await _producer.DisposeAsync();
        await Proxy.DisposeAsync();
        NpgsqlConnection.ClearAllPools();
    }

    private async Task ProduceAsync(CancellationToken stop)
    {
        using var timer = new PeriodicTimer(SendEvery);
        try
        {
            while (await timer.WaitForNextTickAsync(stop))
            {
                var window = Volatile.Read(ref _window);
                var jobs = Enumerable.Range(0, JobsPerSend).Select(_ => _nextJob(_made++)).ToList();
                try
                {
                    using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                    foreach (var id in await _producer.EnqueueAsync(Queue, jobs, DateTimeOffset.UtcNow, timeout.Token)) Sent[id] = window;
                }
                catch (Exception e) when (e is NpgsqlException or OperationCanceledException or TimeoutException && !stop.IsCancellationRequested)
                {
                    SendFailures.AddOrUpdate(window, 1, (_, n) => n + 1);
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
    }

    private async Task SuperviseAsync(CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            for (var i = 0; i < SiloCount; i++)
            {
                if (_silos[i] is not { HasExited: true } ended || _downOnPurpose[i]) continue;
                _notes.Enqueue($"silo {i + 1} ended on its own at {DateTime.UtcNow:HH:mm:ss.f} and was restarted; its last error lines: {Tail(ended.Errors)}");
                try { await StartSiloAsync(i); }
                catch (Exception e) { _notes.Enqueue($"silo {i + 1} could not be restarted: {e.Message}"); }
            }

            try { await Task.Delay(200, stop); }
            catch (OperationCanceledException) { return; }
        }
    }

    private static string Tail(string errors)
    {
        var lines = errors.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).TakeLast(3).ToList();
        return lines.Count == 0 ? "(none)" : string.Join(" / ", lines.Select(l => l.Length > 200 ? l[..200] + "…" : l));
    }
}

/// <summary>The private servers of a chaos run and how to restart them (scripts/postgres, scripts/redis on their ports).</summary>
public sealed record ChaosServers(string PostgresConnection, int PostgresPort, string Redis, int RedisPort)
{
    public Task RestartPostgresImmediatelyAsync() => RunScriptAsync("scripts/postgres", "restart-immediate", ("OJ_PG_PORT", PostgresPort));

    public async Task RestartRedisAsync()
    {
        await RunScriptAsync("scripts/redis", "stop", ("OJ_REDIS_PORT", RedisPort));
        await RunScriptAsync("scripts/redis", "start", ("OJ_REDIS_PORT", RedisPort));
    }

    private static async Task RunScriptAsync(string script, string command, (string Name, int Port) port)
    {
        var start = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(script);
        start.ArgumentList.Add(command);
        start.Environment[port.Name] = port.Port.ToString();
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(timeout.Token);
        if (process.ExitCode != 0) throw new InvalidOperationException($"{script} {command} failed ({process.ExitCode}): {await errors}{await output}");
    }
}
