using Microsoft.Extensions.Logging;
using Npgsql;

namespace Orleans.Jobs.Storage.PostgreSql;

/// <summary>
/// Holds one connection that LISTENs on the schema's channel and turns notifications into availability signals.
/// When the connection drops it reconnects, and wakes every waiter because notifications may have been missed;
/// waiters also re-check on their own every poll interval, so a lost notification costs latency, never a job.
/// </summary>
internal sealed partial class NotificationListener(NpgsqlDataSource dataSource, string channel, AvailabilityBroadcaster broadcaster, TimeProvider timeProvider, ILogger logger) : IAsyncDisposable
{
    private static readonly TimeSpan ReconnectDelay = TimeSpan.FromSeconds(1);

    // A connection whose network path died silently (half-open) never errors on its own: without traffic a LISTEN
    // waits on it forever and the silo falls back to polling for good. So an idle listener pings, and a ping that
    // does not answer in time breaks the connection and a new one is opened: found within about 3 + 3 + 2 s
    // (Npgsql's cancellation grace).
    private static readonly TimeSpan PingWhenIdleFor = TimeSpan.FromSeconds(3);
    private const int PingTimeoutSeconds = 3;
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
                connection.Notification += (_, e) => broadcaster.Signal(e.Payload);
                await using (var listen = new NpgsqlCommand($"listen \"{channel}\"", connection))
                    await listen.ExecuteNonQueryAsync(stopping);
                _listening = true;
                broadcaster.SignalAll();
                while (true)
                {
                    if (await connection.WaitAsync(PingWhenIdleFor, stopping)) continue;
                    // LISTEN again is a no-op round trip, and keeps the connection's last statement a LISTEN for whoever
                    // looks at pg_stat_activity.
                    await using var ping = new NpgsqlCommand($"listen \"{channel}\"", connection) { CommandTimeout = PingTimeoutSeconds };
                    await ping.ExecuteNonQueryAsync(stopping);
                }
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                if (_listening) LogLost(logger, e, channel);
                _listening = false;
                broadcaster.SignalAll();
                try { await Task.Delay(ReconnectDelay, timeProvider, stopping); }
                catch (OperationCanceledException) { return; }
            }
        }
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
