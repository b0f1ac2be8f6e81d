using System.Text.Json;
using Npgsql;
using Orleans.Jobs.Client.WorkStreams;
using Orleans.Jobs.Grains.Interfaces.WorkStreams;
using Orleans.Jobs.Silo.Gateway;

namespace Orleans.Jobs.ClusterProcess;

/// <summary>
/// The work-stream proof (tests/Tests/WorkStreams/WorkStreamKillTests.cs): a client forks <see cref="SquareAsync"/>
/// for 0..n-1 and one stage collects every record. The forked function is posted code: this assembly, posted by the
/// client and loaded by each silo from those bytes. Each run of a fork inserts a row into
/// <c>&lt;schema&gt;.stream_fork_runs</c>, so a fork that ran twice (in flight when its silo died) shows as two rows.
/// </summary>
public static class WorkStreamProof
{
    /// <summary>The stage that receives every fork's record.</summary>
    public const string Stage = "collect";

    /// <summary>Where the forks' runs are recorded.</summary>
    public const string RunsTable = "stream_fork_runs";

    /// <summary>Up to 16 workers per silo, all started within a fraction of a second: the forks finish well inside the test's time.</summary>
    public static WorkStreamProperties Properties { get; } = new() { MaxWorkersPerNode = 16, SpawnFrequency = 100 };

    /// <summary>The SQL that creates the runs table in <paramref name="schema"/>: unlogged, so a run's insert does not wait for a WAL flush.</summary>
    public static string CreateRunsTable(string schema) => $"create unlogged table {schema}.{RunsTable} (n bigint not null, pid int not null, started_at timestamptz not null)";

    /// <summary>
    /// The forked function: records this run, returns n². The database travels in the arguments, because a posted
    /// function sees nothing of its silo's configuration (and its assembly's statics are its own copy's).
    /// </summary>
    public static async Task<long> SquareAsync(ProofFork fork)
    {
        ArgumentNullException.ThrowIfNull(fork);
        await using var connection = new NpgsqlConnection(fork.Connection);
        await connection.OpenAsync();
        await using var insert = new NpgsqlCommand($"insert into {fork.Schema}.{RunsTable} (n, pid, started_at) values (@n, @pid, clock_timestamp())", connection);
        insert.Parameters.AddWithValue("n", fork.N);
        insert.Parameters.AddWithValue("pid", Environment.ProcessId);
        await insert.ExecuteNonQueryAsync();
        return fork.N * fork.N;
    }

    /// <summary>
    /// Runs the proof's client: forks <paramref name="count"/> squares into stream <paramref name="streamId"/>, waits
    /// for the stage to get every record, and prints <c>FORKED n</c> once the forks are queued, then
    /// <c>FINISHED {json}</c> (a <see cref="Received"/>). A run that fails (its gateway or its stream's silo died)
    /// reattaches with the same id, as an Impetus client restarted after a crash would, within five minutes.
    /// </summary>
    public static async Task<int> RunClientAsync(IClusterClient cluster, string connection, string schema, string streamId, int count, TextWriter output)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        for (var run = 1; ; run++)
        {
            Received? received = null;
            var client = new WorkStreamClient(cluster, GatewayOptions.DevelopmentClusterKey, new WorkStreamClientOptions
            {
                Id = streamId,
                Properties = Properties,
                StallTimeout = TimeSpan.FromMinutes(2),
                Log = output,
            })
                .Startup("start", async stage =>
                {
                    for (var n = 0L; n < count; n++) await stage.ForkAsync(SquareAsync, new ProofFork(n, connection, schema));
                    await stage.FlushAsync();
                    output.WriteLine($"FORKED {count}");
                })
                .Process(Stage, (_, ready, errors) =>
                {
                    received = Received.Of(run, ready, errors);
                    return Task.CompletedTask;
                });
            try
            {
                await client.RunAsync(deadline.Token);
                output.WriteLine($"FINISHED {JsonSerializer.Serialize(received ?? throw new InvalidOperationException($"Stage '{Stage}' never ran."))}");
                return 0;
            }
            catch (Exception e) when (!deadline.IsCancellationRequested)
            {
                Console.Error.WriteLine($"run {run} failed, reattaching to stream {streamId}: {e.GetType().Name}: {e.Message}");
                await Task.Delay(TimeSpan.FromMilliseconds(500), deadline.Token);
            }
        }
    }

    /// <summary>The arguments of <see cref="SquareAsync"/>: the number, and where to record the run.</summary>
    public sealed record ProofFork(long N, string Connection, string Schema);

    /// <summary>What the client's stage received, in the run that finished.</summary>
    /// <param name="Runs">Client runs it took: 1, plus one per reattach after a failure.</param>
    /// <param name="Ready">Ready records the stage received.</param>
    /// <param name="DistinctForks">Distinct fork ids among them.</param>
    /// <param name="Sum">The sum of their results.</param>
    /// <param name="Errors">Error records the stage received.</param>
    /// <param name="RecordedOnRerun">Records of a fork's second or later run (its first run's worker died before recording it).</param>
    /// <param name="FirstError">The first error record's message, if any.</param>
    public sealed record Received(int Runs, int Ready, int DistinctForks, long Sum, int Errors, int RecordedOnRerun, string? FirstError)
    {
        public static Received Of(int runs, IReadOnlyList<ForkRecord> ready, IReadOnlyList<ForkRecord> errors) => new(
            runs,
            ready.Count,
            ready.Select(r => r.Job.Id).Distinct(StringComparer.Ordinal).Count(),
            ready.Sum(r => r.ResultAs<long>()),
            errors.Count,
            ready.Count(r => r.Attempt > 1),
            errors.FirstOrDefault()?.Error?.Error);
    }
}
