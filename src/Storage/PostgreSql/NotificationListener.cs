using Microsoft.Extensions.Logging;
using Npgsql;

namespace Orleans.Jobs.Storage.PostgreSql;

/// <summary>
/// Holds one connection that LISTENs on the schema's channel and turns notifications into availability signals.
/// When the connection drops it reconnects, and wakes every waiter because notifications may have been missed;
/// waiters also re-check on their own every poll interval, so a lost notification costs latency, never a job.
/// </summary>
internal sealed partial class NotificationListener(NpgsqlDataSource dataSource, PostgresQueries sql, AvailabilityBroadcaster broadcaster, TimeProvider timeProvider, ILogger logger) : IAsyncDisposable
{
    private static readonly TimeSpan ReconnectDelay = TimeSpan.FromSeconds(1);

    // A connection whose network path died silently (half-open) never errors on its own: without traffic a LISTEN
    // waits on it forever and the silo falls back to polling for good. So when the listener has heard nothing for a
    // while, another connection of the pool sends it a ping notification (an empty payload, which is no queue's name),
    // and a ping that does not arrive in time breaks the connection and a new one is opened: found within about
    // 3 + 3 + 2 s (Npgsql's cancellation grace). The wait itself has no timeout: Npgsql times a wait out by throwing
    // and catching several exceptions, which an idle silo would otherwise do every few seconds for nothing.
    private static readonly TimeSpan PingWhenIdleFor = TimeSpan.FromSeconds(3);
    private static readonly TimeSpan PingTimeout = TimeSpan.FromSeconds(3);
    private const string PingPayload = "";

    // Pings measure the network, so they run on real time even when the store is given a test clock.
    private static readonly TimeProvider NetworkTime = TimeProvider.System;
    private readonly CancellationTokenSource _stop = new();
    private Task _loop = Task.CompletedTask;
    private volatile bool _listening;

    /// <summary>True while the LISTEN connection is up.</summary>
    public bool IsListening => _listening;

    public void Start() => _loop = RunAsync(_stop.Token);

    private async Task RunAsync(CancellationToken stopping)
    {
        while (!stopping.IsCancellationRequested)
        {
            try
            {
                await using var connection = await dataSource.OpenConnectionAsync(stopping);
                connection.Notification += (_, e) =>
                {
                    if (e.Payload != PingPayload) broadcaster.Signal(e.Payload);
                };
                await using (var listen = new NpgsqlCommand($"listen \"{sql.Channel}\"", connection))
                    await listen.ExecuteNonQueryAsync(stopping);
                _listening = true;
                broadcaster.SignalAll();
                await ListenAsync(connection, stopping);
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                if (_listening) LogLost(logger, e, sql.Channel);
                _listening = false;
                broadcaster.SignalAll();
                try { await Task.Delay(ReconnectDelay, timeProvider, stopping); }
                catch (OperationCanceledException) { return; }
            }
        }
    }

    /// <summary>Receives notifications until the connection fails, a ping goes unanswered, or the store stops.</summary>
    private async Task ListenAsync(NpgsqlConnection connection, CancellationToken stopping)
    {
        using var abandon = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        var waiting = connection.WaitAsync(abandon.Token);
        try
        {
            while (true)
            {
                // One timer per quiet period, not one per notification: a busy channel carries many.
                var quiet = Task.Delay(PingWhenIdleFor, NetworkTime);
                var heard = false;
                while (await Task.WhenAny(waiting, quiet) == waiting)
                {
                    await waiting; // a notification arrived, or the connection failed and this throws
                    heard = true;
                    waiting = connection.WaitAsync(abandon.Token);
                }

                if (heard) continue;
                await PingAsync(stopping);
                if (await Task.WhenAny(waiting, Task.Delay(PingTimeout, NetworkTime)) != waiting)
                    throw new TimeoutException($"The LISTEN connection on channel {sql.Channel} did not receive its ping within {PingTimeout.TotalSeconds:0} s.");
            }
        }
        finally
        {
            // The connection is disposed next, which must not happen under a read in progress. Only a failure or the
            // store stopping gets here, so the cancelled wait's exception is expected and has nothing to add.
            await abandon.CancelAsync();
            try { await waiting; }
            catch (Exception) { }
        }
    }

    private async Task PingAsync(CancellationToken stopping)
    {
        await using var ping = dataSource.CreateCommand(sql.Notify);
        ping.CommandTimeout = (int)PingTimeout.TotalSeconds;
        ping.Parameters.AddWithValue("channel", sql.Channel);
        ping.Parameters.AddWithValue("queue", PingPayload);
        await ping.ExecuteNonQueryAsync(stopping);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _loop;
        _stop.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Lost the LISTEN connection on channel {Channel}; waiters poll until it is back")]
    private static partial void LogLost(ILogger logger, Exception exception, string channel);
}
