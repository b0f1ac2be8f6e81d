using System.Reflection;
using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Orleans.Jobs.Grains.Interfaces;
using Orleans.Jobs.Grains.Code;
using Orleans.Jobs.Silo.Hosting;
using Orleans.Runtime;

namespace Orleans.Jobs.Silo.Gateway;

/// <summary>The HTTP gateway for other languages: grain calls by alias, the cluster status and a health probe.</summary>
public static partial class GatewayEndpoints
{
    /// <summary>Maps the gateway endpoints; every path under /v1 requires a key, and each grain method the role <see cref="GatewayAccess"/> names.</summary>
    public static IEndpointRouteBuilder MapGateway(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet(GatewayProtocol.HealthPath, () => Results.Ok(new { status = "ok" }));
        var api = endpoints.MapGroup("/v1").AddEndpointFilter(RequireKey);
        api.MapPost("/grains/call", CallAsync);
        api.MapGet("/cluster", ClusterAsync);
        return endpoints;
    }

    private static async ValueTask<object?> RequireKey(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        // Query strings end up in access logs and proxies, so a key there is refused before anything reads it.
        if (http.Request.QueryString.HasValue)
            return Error(StatusCodes.Status400BadRequest, "System.ArgumentException", $"The gateway takes no query string: send the key in the {GatewayProtocol.ClusterKeyHeader} header, never in a URL. Nothing was done.");
        var keys = http.RequestServices.GetRequiredService<GatewayKeys>();
        if (!keys.IsOpen)
            return Error(StatusCodes.Status503ServiceUnavailable, "System.InvalidOperationException", "The gateway is still checking the addresses it listens on; try again in a moment.");
        if (keys.Identify(http.Request.Headers[GatewayProtocol.ClusterKeyHeader].ToString()) is not { } caller)
            return Error(StatusCodes.Status401Unauthorized, "UnauthorizedAccessException", $"The key is missing or wrong: send Gateway:ClusterKey or a Gateway:Keys entry's key in the {GatewayProtocol.ClusterKeyHeader} header.");
        http.Items[typeof(GatewayCaller)] = caller;
        return await next(context);
    }

    private static async Task<IResult> ClusterAsync(IGrainFactory grains, JobsSiloStatus silo)
    {
        var hosts = await grains.GetGrain<IManagementGrain>(0).GetDetailedHosts(onlyActive: false);
        return Results.Json(
            new ClusterStatus(silo.Store, silo.Address, silo.Node, hosts.Select(h => new ClusterSilo(h.SiloAddress.ToString(), h.SiloName, h.HostName, h.Status.ToString(), h.StartTime, h.IAmAliveTime)).ToList()),
            GatewayProtocol.Json);
    }

    private static async Task<IResult> CallAsync(HttpContext http, IGrainFactory grains, IOptions<GatewayOptions> options, ILoggerFactory loggers)
    {
        if (RefuseContentType(http.Request) is { } refusal) return refusal;

        GatewayRequest call;
        Type grainInterface;
        MethodInfo method;
        object?[] arguments;
        try
        {
            var body = await GatewayRequest.ReadBodyAsync(http.Request, options.Value.MaxRequestBytes, http.RequestAborted);
            call = GatewayRequest.Parse(body);
            (grainInterface, method) = GrainAliases.Default.Resolve(call.Interface, call.Method);
            if (GatewayAccess.RoleRefusal(Caller(http), call.Interface, call.Method) is { } roleRefusal)
                return Forbidden(roleRefusal);
            arguments = GatewayArguments.Read(call, method, http.RequestAborted);
        }
        catch (BadHttpRequestException e)
        {
            return Error(e.StatusCode, "System.ArgumentException", $"The request was refused: {e.Message}", "body");
        }
        catch (ArgumentException e)
        {
            return Error(StatusCodes.Status400BadRequest, GatewayErrors.FromException(e));
        }

        if (GatewayAccess.NodeRefusal(Caller(http), call.Interface, call.Key, call.Method, arguments) is { } nodeRefusal)
            return Forbidden(nodeRefusal);

        try
        {
            var grain = grains.GetGrain(grainInterface, call.Key);
            var task = (Task)method.Invoke(grain, arguments)!;
            await task;
            var resultType = method.ReturnType.IsGenericType ? method.ReturnType.GetGenericArguments()[0] : null;
            var result = resultType is null ? null : task.GetType().GetProperty("Result")!.GetValue(task);
            var json = resultType is null ? (JsonElement?)null : JsonSerializer.SerializeToElement(result, resultType, GatewayProtocol.Json);
            if (GatewayOutcomes.Refusal(call, method, arguments, result, json) is { } unapplied)
                return Error(unapplied.Status, unapplied.Error);
            return Results.Json(new GatewayResult(json), GatewayProtocol.Json);
        }
        catch (OperationCanceledException) when (http.RequestAborted.IsCancellationRequested)
        {
            return Results.Empty; // the client went away
        }
        catch (Exception e)
        {
            var status = GatewayErrors.StatusOf(e);
            if (status == StatusCodes.Status500InternalServerError)
                LogCallFailed(loggers.CreateLogger(typeof(GatewayEndpoints)), e, call.Interface, call.Key, call.Method);
            return Error(status, GatewayErrors.FromException(e));
        }
    }

    /// <summary>A call's body is JSON in UTF-8: any other declared type or charset is refused before the body is read.</summary>
    private static IResult? RefuseContentType(HttpRequest request)
    {
        const string rule = "a grain call's Content-Type must be application/json (charset utf-8 or none)";
        if (!request.HasJsonContentType())
            return Error(StatusCodes.Status415UnsupportedMediaType, "System.ArgumentException",
                $"Content-Type is {(string.IsNullOrEmpty(request.ContentType) ? "missing" : QueueLimits.Echo(request.ContentType))}: {rule}.", "Content-Type");
        var charset = Microsoft.Net.Http.Headers.MediaTypeHeaderValue.Parse(request.ContentType).Charset;
        if (charset.HasValue && !charset.Equals("utf-8", StringComparison.OrdinalIgnoreCase) && !charset.Equals("utf8", StringComparison.OrdinalIgnoreCase))
            return Error(StatusCodes.Status415UnsupportedMediaType, "System.ArgumentException",
                $"Content-Type names charset {QueueLimits.Echo(charset.ToString())}: {rule}.", "Content-Type");
        return null;
    }

    private static GatewayCaller Caller(HttpContext http) => (GatewayCaller)http.Items[typeof(GatewayCaller)]!;

    private static IResult Forbidden(string refusal) => Error(StatusCodes.Status403Forbidden, "System.UnauthorizedAccessException", refusal);

    private static IResult Error(int status, string type, string message, string? field = null) => Error(status, new GatewayError(type, message, field));

    private static JsonHttpResult<GatewayError> Error(int status, GatewayError error) =>
        TypedResults.Json(error, GatewayProtocol.Json, statusCode: status);

    [LoggerMessage(Level = LogLevel.Error, Message = "Grain call {Interface}/{Key}.{Method} failed")]
    private static partial void LogCallFailed(ILogger logger, Exception exception, string @interface, string key, string method);
}
