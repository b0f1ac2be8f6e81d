using System.Net;
using System.Net.Sockets;

namespace Orleans.Jobs.Tests.Support;

/// <summary>
/// A loopback TCP proxy that can be cut (existing connections dropped, new ones refused) and restored: a network outage
/// on demand. It can also swallow the server's replies while requests still reach the server, so a test can cut a
/// connection after the server acted on a request but before its answer arrived: a lost reply.
/// </summary>
public sealed class TcpProxy : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly IPEndPoint _target;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<TcpClient> _open = [];
    private readonly Task _acceptLoop;
    private volatile bool _cut;
    private volatile bool _swallowReplies;

    public TcpProxy(string targetHost, int targetPort)
    {
        _target = new IPEndPoint(IPAddress.Parse(targetHost), targetPort);
        _listener.Start();
        _acceptLoop = AcceptAsync();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public void Cut()
    {
        _cut = true;
        lock (_open)
        {
            foreach (var client in _open) client.Dispose();
            _open.Clear();
        }
    }

    public void Restore() => (_cut, _swallowReplies) = (false, false);

    /// <summary>From now until <see cref="Restore"/>, bytes from the server are read and dropped: requests get through, answers do not.</summary>
    public void SwallowReplies() => _swallowReplies = true;

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient inbound;
            try { inbound = await _listener.AcceptTcpClientAsync(_stop.Token); }
            catch (OperationCanceledException) { return; }

            if (_cut)
            {
                inbound.Dispose();
                continue;
            }

            var outbound = new TcpClient();
            try { await outbound.ConnectAsync(_target, _stop.Token); }
            catch { inbound.Dispose(); outbound.Dispose(); continue; }

            lock (_open) { _open.Add(inbound); _open.Add(outbound); }
            _ = PumpAsync(inbound, outbound, isReply: false);
            _ = PumpAsync(outbound, inbound, isReply: true);
        }
    }

    private async Task PumpAsync(TcpClient from, TcpClient to, bool isReply)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            var source = from.GetStream();
            var target = to.GetStream();
            int read;
            while ((read = await source.ReadAsync(buffer)) > 0)
                if (!(isReply && _swallowReplies)) await target.WriteAsync(buffer.AsMemory(0, read));
        }
        catch { }
        finally { from.Dispose(); to.Dispose(); }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _acceptLoop;
        Cut();
    }
}
