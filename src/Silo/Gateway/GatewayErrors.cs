using Orleans.Jobs.Grains.Interfaces;
using Orleans.Runtime;

namespace Orleans.Jobs.Silo.Gateway;

/// <summary>Turns an exception thrown by a grain call into the status and <see cref="GatewayError"/> the gateway sends.</summary>
public static class GatewayErrors
{
    /// <summary>The longest message the gateway sends; rules echo at most <see cref="QueueLimits.MaxEchoLength"/> characters of a value, this is the backstop.</summary>
    public const int MaxMessageLength = 2_000;

    /// <summary>The HTTP status for an exception: the caller's mistake 400, the cluster or its store unavailable 503, a timeout 504, anything else 500.</summary>
    public static int StatusOf(Exception exception) => exception switch
    {
        ArgumentException => StatusCodes.Status400BadRequest,
        SiloUnavailableException or OrleansMessageRejectionException or JobStoreException => StatusCodes.Status503ServiceUnavailable,
        TimeoutException => StatusCodes.Status504GatewayTimeout,
        _ => StatusCodes.Status500InternalServerError,
    };

    /// <summary>The error sent for an exception thrown by a grain call.</summary>
    public static GatewayError FromException(Exception exception) => exception switch
    {
        ArgumentException argument => new GatewayError(exception.GetType().FullName!, Bounded(StripParamSuffix(argument)), argument.ParamName),
        // An unexpected failure's own text may carry internals (a driver's message, a stack); the silo's log has it.
        _ when StatusOf(exception) == StatusCodes.Status500InternalServerError =>
            new GatewayError(exception.GetType().FullName!, "The silo failed the call unexpectedly; its log has the details."),
        _ => new GatewayError(exception.GetType().FullName!, Bounded(exception.Message)),
    };

    private static string Bounded(string message) =>
        message.Length <= MaxMessageLength ? message : $"{message[..MaxMessageLength]}… (message cut from {message.Length} characters)";

    // ArgumentException.Message appends " (Parameter 'x')" and, for out-of-range values, the actual value; the
    // receiving side's constructor adds the parameter back, so send the bare message plus the value.
    private static string StripParamSuffix(ArgumentException e)
    {
        var message = e.Message;
        string? actual = null;
        if (e is ArgumentOutOfRangeException { ActualValue: { } value })
        {
            var line = $"{Environment.NewLine}Actual value was {value}.";
            if (message.EndsWith(line, StringComparison.Ordinal)) message = message[..^line.Length];
            actual = $" (actual value: {QueueLimits.Shorten($"{value}")})";
        }

        var suffix = $" (Parameter '{e.ParamName}')";
        if (e.ParamName is not null && message.EndsWith(suffix, StringComparison.Ordinal)) message = message[..^suffix.Length];
        return message + actual;
    }
}
