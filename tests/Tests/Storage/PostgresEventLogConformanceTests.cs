using Npgsql;
using Orleans.Jobs.Storage;
using Orleans.Jobs.Storage.PostgreSql;

namespace Orleans.Jobs.Tests.Storage;

/// <summary>The event log conformance suite on a real PostgreSQL server, each test on a fresh schema.</summary>
public sealed class PostgresEventLogConformanceTests : EventLogConformanceTests
{
    private PostgresJobStore? _store;
    private readonly List<PostgresJobStore> _otherStores = [];

    protected override async Task<IEventLogStore> CreateStoreAsync() => _store = await TestPostgres.CreateStoreAsync(clock: Clock);

    protected override async Task<IEventLogStore> OpenAnotherStoreAsync()
    {
        var other = await TestPostgres.CreateStoreAsync(_store!.Options.Schema, Clock);
        _otherStores.Add(other);
        return other;
    }

    /// <summary>
    /// Sends a marker NOTIFY and waits for the store to receive it: one connection receives notifications in commit
    /// order, so everything sent before the marker has been received by then.
    /// </summary>
    protected override async Task DeliverSignalsInFlightAsync()
    {
        await Eventually.TrueAsync(() => _store!.IsListening, "the store to LISTEN");
        using var marker = _store!.SubscribeLog("signals-delivered");
        await using (var connection = new NpgsqlConnection(TestPostgres.ConnectionString))
        {
            await connection.OpenAsync(Ct);
            await using var notify = new NpgsqlCommand("select pg_notify(@channel, @signal)", connection);
            notify.Parameters.AddWithValue("channel", new PostgresQueries(_store.Options.Schema).Channel);
            notify.Parameters.AddWithValue("signal", EventLogRules.SignalKey("signals-delivered"));
            await notify.ExecuteNonQueryAsync(Ct);
        }

        // The store polls every 500 ms in tests, so a wait may end unsignalled; the deadline bounds the whole.
        await Eventually.TrueAsync(() => marker.WaitAsync(TimeSpan.FromMinutes(1), TimeProvider.System, Ct), "the marker NOTIFY to reach the store");
    }

    public override async ValueTask DisposeAsync()
    {
        foreach (var other in _otherStores) await other.DisposeAsync();
        await TestPostgres.DisposeAndDropAsync(_store);
    }

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
