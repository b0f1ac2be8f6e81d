using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Orleans.Jobs.Client.Gateway;
using Orleans.Jobs.Runtime;
using Orleans.Jobs.Runtime.Hosting;
using Orleans.Jobs.Runtime.Membership;
using Orleans.Jobs.Runtime.Proxies;

namespace Orleans.Jobs.Silo.Gateway;

/// <summary>The gateway's HTTP endpoints: one generic shape for every grain call, the cluster status and a health probe.</summary>
public static partial class GatewayEndpoints
{
    /// <summary>Maps the gateway endpoints; every path under /v1 requires the cluster key.</summary>
    public static IEndpointRouteBuilder MapGateway(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet(GatewayProtocol.HealthPath, () => Results.Ok(new { status = "ok" }));
        var api = endpoints.MapGroup("/v1").AddEndpointFilter(RequireClusterKey);
        api.MapPost("/grains/call", CallAsync);
        api.MapGet("/cluster", ClusterAsync);
        return endpoints;
    }

    private static async ValueTask<object?> RequireClusterKey(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var expected = context.HttpContext.RequestServices.GetRequiredService<IOptions<GatewayOptions>>().Value.ClusterKey;
        var sent = context.HttpContext.Request.Headers[GatewayProtocol.ClusterKeyHeader].ToString();
        if (!CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(sent), Encoding.UTF8.GetBytes(expected)))
            return Error(StatusCodes.Status401Unauthorized, "UnauthorizedAccessException", $"The cluster key is missing or wrong: send the silo's Gateway:ClusterKey in the {GatewayProtocol.ClusterKeyHeader} header.");
        return await next(context);
    }

    private static async Task<IResult> ClusterAsync(IClusterStore store, IOptions<SiloOptions> silo, CancellationToken cancellationToken)
    {
        var silos = await store.GetSilosAsync(cancellationToken);
        return Results.Json(
            new ClusterStatus(store.ProviderName, silo.Value.SiloId, silos.Select(s => new ClusterSilo(s.SiloId, s.Node, s.Gateway, s.Status.ToString(), s.StartedAt, s.LastHeartbeat)).ToList()),
            GatewayProtocol.Json);
    }

    private static async Task<IResult> CallAsync(HttpContext http, GrainRegistry registry, LocalGrainRuntime runtime, ILoggerFactory loggers)
    {
        GatewayCall? call;
        try
        {
            call = await http.Request.ReadFromJsonAsync<GatewayCall>(GatewayProtocol.Json, http.RequestAborted);
        }
        catch (JsonException e)
        {
            return Error(StatusCodes.Status400BadRequest, "System.ArgumentException", $"The request body is not a valid grain call: {e.Message}");
        }
        catch (BadHttpRequestException e)
        {
            return Error(e.StatusCode, "System.ArgumentException", $"The request was refused: {e.Message}");
        }

        if (call is null || call.Interface is null || call.Key is null || call.Method is null || call.Arguments is null)
            return Error(StatusCodes.Status400BadRequest, "System.ArgumentException", "A grain call needs 'interface', 'key', 'method' and 'arguments'.");

        object?[] arguments;
        GrainId grain;
        GrainMethod method;
        try
        {
            var registration = registry.ForInterfaceName(call.Interface);
            method = registration.Interface.Methods.GetValueOrDefault(call.Method)
                ?? throw new ArgumentException($"Grain interface {registration.Interface.Type.Name} has no method '{call.Method}'.", "method");
            grain = GrainId.Create(registration.Interface.GrainType, call.Key);
            arguments = ReadArguments(method, call.Arguments, http.RequestAborted);
        }
        catch (ArgumentException e)
        {
            return Error(StatusCodes.Status400BadRequest, GatewayErrors.FromException(e));
        }

        try
        {
            var result = await runtime.InvokeAsync(grain, method, arguments);
            var json = method.ResultType is null ? (JsonElement?)null : JsonSerializer.SerializeToElement(result, method.ResultType, GatewayProtocol.Json);
            return Results.Json(new GatewayResult(json), GatewayProtocol.Json);
        }
        catch (OperationCanceledException) when (http.RequestAborted.IsCancellationRequested)
        {
            return Results.Empty; // the client went away
        }
        catch (Exception e)
        {
            var status = e switch
            {
                ArgumentException => StatusCodes.Status400BadRequest,
                InconsistentStateException => StatusCodes.Status409Conflict,
                SiloUnavailableException => StatusCodes.Status503ServiceUnavailable,
                _ => StatusCodes.Status500InternalServerError,
            };
            if (status == StatusCodes.Status500InternalServerError)
                LogCallFailed(loggers.CreateLogger(typeof(GatewayEndpoints)), e, grain.ToString(), method.Name);
            return Error(status, GatewayErrors.FromException(e));
        }
    }

    private static object?[] ReadArguments(GrainMethod method, JsonElement[] wire, CancellationToken requestAborted)
    {
        var expected = method.Parameters.Count - (method.CancellationTokenIndex >= 0 ? 1 : 0);
        if (wire.Length != expected)
            throw new ArgumentException($"{method.Interface.Type.Name}.{method.Name} takes {expected} arguments; the call sent {wire.Length}.", "arguments");

        var arguments = new object?[method.Parameters.Count];
        var next = 0;
        for (var i = 0; i < arguments.Length; i++)
        {
            var parameter = method.Parameters[i];
            if (i == method.CancellationTokenIndex)
            {
                arguments[i] = requestAborted;
                continue;
            }

            try
            {
                arguments[i] = wire[next++].Deserialize(parameter.ParameterType, GatewayProtocol.Json);
            }
            catch (JsonException e)
            {
                throw new ArgumentException($"Argument '{parameter.Name}' of {method.Interface.Type.Name}.{method.Name} is not a valid {parameter.ParameterType.Name}: {e.Message}", parameter.Name);
            }
        }

        return arguments;
    }

    private static IResult Error(int status, string type, string message) => Error(status, new GatewayError(type, message));

    private static JsonHttpResult<GatewayError> Error(int status, GatewayError error) =>
        TypedResults.Json(error, GatewayProtocol.Json, statusCode: status);

    [LoggerMessage(Level = LogLevel.Error, Message = "Grain call {Grain}.{Method} failed")]
    private static partial void LogCallFailed(ILogger logger, Exception exception, string grain, string method);
}
