using System.Text.Json;
using Orleans.Jobs.Client.Code;
using Orleans.Jobs.Grains.Interfaces.WorkStreams;

namespace Orleans.Jobs.Tests.WorkStreams;

/// <summary>Two silos — two nodes — on one job store, shared by the tests of a class; each test uses streams of its own.</summary>
public abstract class WorkStreamCluster : StoreClusterFixture
{
    public const string ClusterKey = "work-stream-test-key";

    private readonly Lazy<Task<ProbeForks>> _probes;

    protected WorkStreamCluster() => _probes = new(() => ProbeForks.PostAsync(Cluster.Client));

    /// <summary>The test assembly posted once, for forks of <see cref="ForkProbes"/> sent straight to a stream's grain.</summary>
    public Task<ProbeForks> Probes => _probes.Value;

    /// <summary>What every work-stream test cluster gets: a cluster key to post code with, and short periods, so idleness, dead letters and property changes show within a second.</summary>
    public static JobsClusterBuilder Settings(JobsClusterBuilder builder) => builder
        .Set("Gateway:ClusterKey", ClusterKey)
        .Set("WorkStreams:CheckPeriod", "00:00:00.200")
        .Set("WorkStreamNode:DirectoryPollInterval", "00:00:00.100")
        .Set("WorkStreamNode:ClaimWait", "00:00:01")
        .Set("WorkStreamNode:ShutdownTimeout", "00:00:00.300");

    protected override JobsClusterBuilder Configure(JobsClusterBuilder builder) => Settings(builder);
}

public sealed class InMemoryWorkStreamCluster : WorkStreamCluster
{
    protected override StoreKind Kind => StoreKind.InMemory;
}

public sealed class PostgresWorkStreamCluster : WorkStreamCluster
{
    protected override StoreKind Kind => StoreKind.Postgres;
}

/// <summary>
/// <see cref="ForkProbes"/>' functions as forks sent straight to a stream's grain: past the client, which forks only
/// one-argument functions, so a probe can take the <c>PostedCallContext</c> that names its silo.
/// </summary>
public sealed class ProbeForks(string hash)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>The posted probes' hash.</summary>
    public string Hash => hash;

    /// <summary>Posts the probes from their file.</summary>
    public static async Task<ProbeForks> PostAsync(IGrainFactory grains) =>
        new((await new PostedCode(grains, WorkStreamCluster.ClusterKey).PostFileAsync(ForkProbes.AssemblyPath, "work-stream test probes")).Hash);

    /// <summary>A fork that waits at <paramref name="gate"/>.</summary>
    public ForkRequest Hold(ForkGate gate, string callback = "stage1") =>
        Fork("hold", ForkProbes.HoldFunction, new { gate = gate.Name }, callback);

    /// <summary>A fork of <c>Square</c>.</summary>
    public ForkRequest Square(int i, string callback = "stage1", TimeSpan? delay = null, int? priority = null) =>
        Fork("square", ForkProbes.SquareFunction, i, callback) with { Delay = delay, Priority = priority };

    private ForkRequest Fork(string name, string function, object args, string callback) =>
        new(name, hash, function, JsonSerializer.Serialize(args, Json), callback);
}

/// <summary>Reading a stream's results the way a test waits for them: polled, with a deadline.</summary>
public static class WorkStreamGrainReading
{
    /// <summary>Reads <paramref name="stage"/>'s records from the start until <paramref name="count"/> have arrived; fails the test at the deadline.</summary>
    public static async Task<IReadOnlyList<ForkRecord>> RecordsAsync(this IWorkStreamGrain stream, string stage, int count, TimeSpan? deadline = null)
    {
        var records = new List<ForkRecord>();
        await Eventually.TrueAsync(async () =>
        {
            var page = await stream.ReadResultsAsync(stage, records.Count == 0 ? 0 : records[^1].Sequence, 1_000, TimeSpan.FromSeconds(1));
            records.AddRange(page.Records);
            return records.Count >= count;
        }, $"{count} records to reach stage {stage}", deadline);
        return records;
    }
}
