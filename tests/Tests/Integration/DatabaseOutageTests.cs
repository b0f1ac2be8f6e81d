using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Orleans.Jobs.Grains.Interfaces;
using Orleans.Jobs.Runtime.Jobs;
using Orleans.Jobs.Runtime.Membership;
using Orleans.Jobs.Runtime.Storage.PostgreSql;
using Orleans.Jobs.Silo.Hosting;

namespace Orleans.Jobs.Tests.Integration;

/// <summary>A silo that loses its database stops claiming, and resumes when the database is back.</summary>
public sealed class DatabaseOutageTests : PostgresSchemaTest
{
    [Fact]
    public async Task A_silo_cut_off_from_the_database_stops_claiming_and_resumes_when_it_returns()
    {
        var server = new NpgsqlConnectionStringBuilder(TestPostgres.ConnectionString);
        await using var proxy = new TcpProxy("127.0.0.1", server.Port);
        var throughProxy = new NpgsqlConnectionStringBuilder(TestPostgres.ConnectionString) { Port = proxy.Port, Timeout = 2, CommandTimeout = 5 }.ConnectionString;

        var log = new ExecutionLog();
        await using var cluster = FastCluster.Create(1, () => new PostgresClusterStore(TestPostgres.Options(Schema, throughProxy)))
            .ConfigureSilo(s => s.AddJobHandler("work", (job, _) => { log.Started(job); return Task.FromResult<string?>("ok"); }))
            .Build();
        await using var direct = await TestPostgres.CreateStoreAsync(Schema); // the test's own view, not through the proxy
        await cluster.DeployAsync();
        var silo = cluster.Primary;

        await direct.EnqueueAsync("work", Enumerable.Range(0, 5).Select(i => new NewJob($"before {i}", 0, null, false, 3)).ToList(), DateTimeOffset.UtcNow, Ct);
        await Eventually.TrueAsync(async () => (await direct.GetCountsAsync("work", DateTimeOffset.UtcNow, Ct)).Completed == 5, "the first five jobs");

        proxy.Cut();
        var cutAt = DateTimeOffset.UtcNow;
        await direct.EnqueueAsync("work", Enumerable.Range(0, 5).Select(i => new NewJob($"during {i}", 0, null, false, 3)).ToList(), DateTimeOffset.UtcNow, Ct);

        // The silo has been unable to heartbeat for well over a death timeout: it was cut off the whole time.
        await Eventually.TrueAsync(async () => DateTimeOffset.UtcNow - (await SiloAsync(direct, silo.SiloId)).LastHeartbeat > TimeSpan.FromSeconds(3), "the silo to miss heartbeats");
        var during = await direct.GetCountsAsync("work", DateTimeOffset.UtcNow, Ct);
        Assert.Equal((5L, 0L, 5L), (during.Available, during.Running, during.Completed));
        Assert.Equal(5, log.Count);

        proxy.Restore();
        await Eventually.TrueAsync(async () => (await direct.GetCountsAsync("work", DateTimeOffset.UtcNow, Ct)).Completed == 10, "the jobs sent during the outage");
        await Eventually.TrueAsync(async () => (await SiloAsync(direct, silo.SiloId)) is { Status: SiloStatus.Active } s && s.LastHeartbeat > cutAt, "the silo to heartbeat again");
        Assert.Equal(10, log.Count);
    }

    private static async Task<SiloRecord> SiloAsync(PostgresClusterStore store, string siloId) =>
        (await store.GetSilosAsync(Ct)).Single(s => s.SiloId == siloId);
}
