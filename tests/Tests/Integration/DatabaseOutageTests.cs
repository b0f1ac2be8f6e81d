using Npgsql;
using Orleans.Jobs.Silo.Hosting;
using Orleans.Jobs.Storage;
using Orleans.Jobs.Storage.PostgreSql;

namespace Orleans.Jobs.Tests.Integration;

/// <summary>A silo that loses its job store's database stops claiming, loses nothing, and resumes when the database is back.</summary>
public sealed class DatabaseOutageTests : PostgresSchemaTest
{
    [Fact]
    public async Task A_silo_cut_off_from_the_database_stops_claiming_and_resumes_when_it_returns()
    {
        var server = new NpgsqlConnectionStringBuilder(TestPostgres.ConnectionString);
        await using var proxy = new TcpProxy("127.0.0.1", server.Port);
        var throughProxy = new NpgsqlConnectionStringBuilder(TestPostgres.ConnectionString) { Port = proxy.Port, Timeout = 2, CommandTimeout = 5 }.ConnectionString;

        var log = new ExecutionLog();
        await using var direct = await TestPostgres.CreateStoreAsync(Schema); // the test's own view, not through the proxy
        await using var cluster = new JobsClusterBuilder(1, StoreKind.Postgres, Schema)
            .Set("Store:ConnectionString", throughProxy)
            .Set("Silo:Persistence", "Memory") // only the job store goes through the proxy
            .ConfigureSilo(s => s.AddJobHandler("work", (job, _) => { log.Started(job); return Task.FromResult<string?>("ok"); }))
            .Build();
        await cluster.DeployAsync();

        await direct.EnqueueAsync("work", Enumerable.Range(0, 5).Select(i => new NewJob($"before {i}", 0, null, false, 3)).ToList(), DateTimeOffset.UtcNow, Ct);
        await Eventually.TrueAsync(async () => (await direct.GetCountsAsync("work", DateTimeOffset.UtcNow, Ct)).Completed == 5, "the first five jobs");

        proxy.Cut();
        await direct.EnqueueAsync("work", Enumerable.Range(0, 5).Select(i => new NewJob($"during {i}", 0, null, false, 3)).ToList(), DateTimeOffset.UtcNow, Ct);

        // Long enough for several claim attempts, each failing on the cut connection (Timeout=2 s).
        var cutFor = DateTimeOffset.UtcNow + TimeSpan.FromSeconds(5);
        await Eventually.TrueAsync(() => DateTimeOffset.UtcNow > cutFor, "the outage to last five seconds", TimeSpan.FromSeconds(10));
        var during = await direct.GetCountsAsync("work", DateTimeOffset.UtcNow, Ct);
        Assert.Equal((5L, 0L, 5L), (during.Available, during.Running, during.Completed));
        Assert.Equal(5, log.Count);

        proxy.Restore();
        await Eventually.TrueAsync(async () => (await direct.GetCountsAsync("work", DateTimeOffset.UtcNow, Ct)).Completed == 10, "the jobs sent during the outage", TimeSpan.FromSeconds(60));
        Assert.Equal(10, log.Count);
    }

    [Fact]
    public async Task A_half_open_listen_connection_is_found_and_replaced_and_notifications_wake_waiters_again()
    {
        var server = new NpgsqlConnectionStringBuilder(TestPostgres.ConnectionString);
        await using var proxy = new TcpProxy("127.0.0.1", server.Port);
        var application = $"listener-{Guid.NewGuid():N}"[..20];
        var throughProxy = new NpgsqlConnectionStringBuilder(TestPostgres.ConnectionString) { Port = proxy.Port, ApplicationName = application }.ConnectionString;
        // A poll interval far longer than the test, so only a notification can wake the waiter in time.
        var options = TestPostgres.Options(Schema, throughProxy);
        options.PollInterval = TimeSpan.FromMinutes(1);
        await using var store = new PostgresJobStore(options);
        await store.StartAsync(Ct);
        await using var producer = await TestPostgres.CreateStoreAsync(Schema);
        var listeners = $"select client_port from pg_stat_activity where application_name = '{application}' and query ilike 'listen%'";

        int frozen = 0;
        await Eventually.TrueAsync(async () => (frozen = await TestPostgres.ScalarAsync<int?>(listeners) ?? 0) != 0, "the store to LISTEN");
        Assert.True(proxy.Freeze(frozen));

        // The store pings an idle listener; the frozen one never answers, so it is broken and a new one opened.
        await Eventually.TrueAsync(async () => await TestPostgres.ScalarAsync<long>($"select count(*) from ({listeners}) l where client_port <> {frozen}") == 1,
            "a new LISTEN connection to replace the half-open one", TimeSpan.FromSeconds(30));

        using var availability = store.SubscribeAvailability("wake");
        var woken = availability.WaitAsync(TimeSpan.FromSeconds(30), TimeProvider.System, Ct);
        await producer.EnqueueAsync("wake", [new NewJob("x", 0, null, false, 3)], DateTimeOffset.UtcNow, Ct);
        Assert.True(await woken, "the new LISTEN connection delivered the notification");
    }
}
