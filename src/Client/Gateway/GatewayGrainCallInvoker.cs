using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;
using Orleans.Jobs.Runtime;
using Orleans.Jobs.Runtime.Proxies;

namespace Orleans.Jobs.Client.Gateway;

/// <summary>
/// Sends grain calls to silo gateways over HTTP. Gateways are tried round-robin; a call moves to the next gateway
/// only when it surely did not run (the connection was refused, or the silo answered 503), so no call runs twice.
/// </summary>
internal sealed class GatewayGrainCallInvoker(HttpClient http, ClientOptions options) : IGrainCallInvoker
{
    private readonly Uri[] _gateways = [.. options.Gateways];
    private int _next;

    public async Task<object?> InvokeAsync(GrainId grain, GrainMethod method, object?[] arguments)
    {
        var call = new GatewayCall(method.Interface.Type.FullName!, grain.Key, method.Name, SerializeArguments(method, arguments));
        var cancellation = method.CancellationTokenIndex >= 0 ? (CancellationToken)arguments[method.CancellationTokenIndex]! : CancellationToken.None;
        var timeout = options.CallTimeout + (method.WaitTimeoutIndex >= 0 ? (TimeSpan)arguments[method.WaitTimeoutIndex]! : TimeSpan.Zero);

        var body = await SendAsync(HttpMethod.Post, GatewayProtocol.CallPath, call, timeout, cancellation);
        var result = body.Deserialize<GatewayResult>(GatewayProtocol.Json);
        return method.ResultType is null || result?.Result is not { } value ? null : value.Deserialize(method.ResultType, GatewayProtocol.Json);
    }

    /// <summary>Sends a request to the first gateway that takes it; returns the JSON body of a success.</summary>
    public async Task<JsonElement> SendAsync(HttpMethod verb, string path, object? content, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var failures = new List<string>();
        var start = (int)((uint)Interlocked.Increment(ref _next) % (uint)_gateways.Length);
        for (var i = 0; i < _gateways.Length; i++)
        {
            var gateway = _gateways[(start + i) % _gateways.Length];
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            deadline.CancelAfter(timeout);
            HttpResponseMessage response;
            try
            {
                using var request = new HttpRequestMessage(verb, new Uri(gateway, path));
                request.Headers.Add(GatewayProtocol.ClusterKeyHeader, options.ClusterKey);
                if (content is not null) request.Content = JsonContent.Create(content, options: GatewayProtocol.Json);
                response = await http.SendAsync(request, deadline.Token);
            }
            catch (HttpRequestException e) when (e.InnerException is SocketException { SocketErrorCode: SocketError.ConnectionRefused or SocketError.HostNotFound or SocketError.NetworkUnreachable })
            {
                failures.Add($"{gateway} ({e.InnerException.Message})");
                continue;
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new TimeoutException($"The call to {gateway}{path} took longer than {timeout}. It may still complete on the silo.");
            }

            using (response)
            {
                if (response.StatusCode == HttpStatusCode.Unauthorized)
                    throw new ClusterKeyRejectedException(gateway);
                if (response.StatusCode == HttpStatusCode.ServiceUnavailable)
                {
                    failures.Add($"{gateway} (silo not serving)");
                    continue;
                }

                var body = await response.Content.ReadFromJsonAsync<JsonElement>(GatewayProtocol.Json, cancellationToken);
                if (response.IsSuccessStatusCode) return body;
                var error = body.ValueKind == JsonValueKind.Object ? body.Deserialize<GatewayError>(GatewayProtocol.Json) : null;
                throw error is null
                    ? new GrainCallException("HTTP " + (int)response.StatusCode, $"The gateway at {gateway} answered {(int)response.StatusCode} {response.ReasonPhrase}.")
                    : GatewayErrors.ToException(error);
            }
        }

        throw new GatewayUnavailableException($"No gateway could take the call: {string.Join("; ", failures)}.");
    }

    private static JsonElement[] SerializeArguments(GrainMethod method, object?[] arguments)
    {
        var wire = new List<JsonElement>(arguments.Length);
        for (var i = 0; i < arguments.Length; i++)
        {
            if (i == method.CancellationTokenIndex) continue;
            wire.Add(JsonSerializer.SerializeToElement(arguments[i], method.Parameters[i].ParameterType, GatewayProtocol.Json));
        }

        return [.. wire];
    }
}
