using Npgsql;
using Orleans.Jobs.Storage;
using Orleans.Jobs.Storage.PostgreSql;

namespace Orleans.Jobs.Tests.Storage;

/// <summary>The event log conformance suite on a real PostgreSQL server, each test on a fresh schema.</summary>
public sealed class PostgresEventLogConformanceTests : EventLogConformanceTests
{
    private PostgresJobStore? _store;

    protected override async Task<IEventLogStore> CreateStoreAsync() => _store = await TestPostgres.CreateStoreAsync(clock: Clock);

    public override ValueTask DisposeAsync() => TestPostgres.DisposeAndDropAsync(_store);

    [Fact]
    public async Task An_append_notifies_other_processes_under_the_logs_key()
    {
        var schema = _store!.Options.Schema;

        // What goes over the wire: NOTIFY on the schema's channel with '#' and the log, sent when the entries commit.
        await using var listener = new NpgsqlConnection(TestPostgres.ConnectionString);
        await listener.OpenAsync(Ct);
        var payloads = new List<string>();
        listener.Notification += (_, e) => payloads.Add(e.Payload);
        await using (var listen = new NpgsqlCommand($"listen \"{new PostgresQueries(schema).Channel}\"", listener))
            await listen.ExecuteNonQueryAsync(Ct);

        // Another silo's store turns it into a wake-up of the log's subscribers.
        await using var other = await TestPostgres.CreateStoreAsync(schema);
        await Eventually.TrueAsync(() => other.IsListening, "the other store to LISTEN");
        using var subscription = other.SubscribeLog("finished");
        await Store.AppendAsync("finished", ["p1"], DateTimeOffset.UtcNow, Ct);

        Assert.True(await subscription.WaitAsync(TimeSpan.FromMinutes(1), TimeProvider.System, Ct));
        await listener.WaitAsync(TimeSpan.FromSeconds(30), Ct);
        Assert.Equal(["#finished"], payloads);
    }
}
