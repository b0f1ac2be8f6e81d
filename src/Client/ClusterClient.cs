using System.Text.Json;
using Microsoft.Extensions.Options;
using Orleans.Jobs.Client.Gateway;
using Orleans.Jobs.Runtime;
using Orleans.Jobs.Runtime.Proxies;

namespace Orleans.Jobs.Client;

/// <summary>
/// A client that calls a cluster through one or more silo gateways over HTTP. To call silos in the same process,
/// use the silo's own <see cref="IClusterClient"/> service instead: it needs no gateway.
/// </summary>
public sealed class ClusterClient : IClusterClient, IDisposable
{
    private readonly HttpClient _http;
    private readonly bool _ownsHttp;
    private readonly GatewayGrainCallInvoker _invoker;

    /// <summary>
    /// Creates a client; nothing is contacted until <see cref="ConnectAsync"/> or the first call. Every call has its
    /// own deadline (<see cref="ClientOptions.CallTimeout"/>, longer for long polls); a supplied
    /// <paramref name="httpClient"/> should have an infinite <see cref="HttpClient.Timeout"/> or long polls are cut short.
    /// </summary>
    /// <exception cref="OptionsValidationException">The options are incomplete; the message says what is missing.</exception>
    public ClusterClient(ClientOptions options, HttpClient? httpClient = null)
    {
        var validation = new ClientOptionsValidator().Validate(null, options);
        if (validation.Failed)
            throw new OptionsValidationException(nameof(ClientOptions), typeof(ClientOptions), validation.Failures);

        Options = options;
        _ownsHttp = httpClient is null;
        _http = httpClient ?? new HttpClient { Timeout = Timeout.InfiniteTimeSpan }; // each call has its own deadline
        _invoker = new GatewayGrainCallInvoker(_http, options);
    }

    /// <summary>The client's options.</summary>
    public ClientOptions Options { get; }

    /// <inheritdoc />
    public TGrainInterface GetGrain<TGrainInterface>(string primaryKey) where TGrainInterface : IGrainWithStringKey =>
        GrainProxy.Create<TGrainInterface>(primaryKey, _invoker);

    /// <summary>Checks that a gateway answers and accepts the cluster key.</summary>
    /// <exception cref="ClusterKeyRejectedException">The cluster key is wrong.</exception>
    /// <exception cref="GatewayUnavailableException">No gateway answered.</exception>
    public async Task ConnectAsync(CancellationToken cancellationToken = default) =>
        await GetClusterStatusAsync(cancellationToken);

    /// <summary>Returns the silos of the cluster and their heartbeats.</summary>
    public async Task<ClusterStatus> GetClusterStatusAsync(CancellationToken cancellationToken = default)
    {
        var body = await _invoker.SendAsync(HttpMethod.Get, GatewayProtocol.ClusterPath, content: null, Options.CallTimeout, cancellationToken);
        return body.Deserialize<ClusterStatus>(GatewayProtocol.Json)!;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_ownsHttp) _http.Dispose();
    }
}
