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
    private readonly HashSet<int> _frozen = [];
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

    /// <summary>
    /// Half-opens the connection whose side towards the server uses local port <paramref name="upstreamPort"/> (the
    /// server sees it as the client's port): nothing more is forwarded either way and nothing is closed, as when a
    /// network path dies silently. Returns false when no such connection is open.
    /// </summary>
    public bool Freeze(int upstreamPort)
    {
        lock (_open)
        {
            if (!_open.Any(c => c.Client is { Connected: true, LocalEndPoint: IPEndPoint local } && local.Port == upstreamPort)) return false;
            _frozen.Add(upstreamPort);
            return true;
        }
    }

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
            var upstreamPort = ((IPEndPoint)outbound.Client.LocalEndPoint!).Port;
            _ = PumpAsync(inbound, outbound, upstreamPort, isReply: false);
            _ = PumpAsync(outbound, inbound, upstreamPort, isReply: true);
        }
    }

    private async Task PumpAsync(TcpClient from, TcpClient to, int upstreamPort, bool isReply)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            var source = from.GetStream();
            var target = to.GetStream();
            while (await source.ReadAsync(buffer) is var read and > 0)
            {
                bool frozen;
                lock (_open) frozen = _frozen.Contains(upstreamPort);
                if (frozen)
                {
                    await Task.Delay(Timeout.Infinite, _stop.Token); // swallow: the peer never hears back
                }

                if (!(isReply && _swallowReplies)) await target.WriteAsync(buffer.AsMemory(0, read));
            }
        }
        catch { }
        finally
        {
            from.Dispose();
            to.Dispose();
            lock (_open) _open.RemoveAll(c => c == from || c == to);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _acceptLoop;
        Cut();
    }
}
