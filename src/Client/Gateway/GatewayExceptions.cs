namespace Orleans.Jobs.Client.Gateway;

/// <summary>The gateway refused the client's cluster key.</summary>
public sealed class ClusterKeyRejectedException(Uri gateway)
    : UnauthorizedAccessException($"The gateway at {gateway} rejected this client's cluster key. Set ClientOptions.ClusterKey to the silo's Gateway:ClusterKey.")
{
    /// <summary>The gateway that refused.</summary>
    public Uri Gateway { get; } = gateway;
}

/// <summary>No gateway could be reached.</summary>
public sealed class GatewayUnavailableException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>A grain call failed on the silo with an exception the client has no local type for.</summary>
public sealed class GrainCallException(string remoteType, string message) : Exception($"{remoteType}: {message}")
{
    /// <summary>The full name of the exception type thrown on the silo.</summary>
    public string RemoteType { get; } = remoteType;
}

/// <summary>Turns a <see cref="GatewayError"/> back into an exception, keeping argument errors as argument exceptions.</summary>
public static class GatewayErrors
{
    /// <summary>The exception a client throws for an error from the gateway.</summary>
    public static Exception ToException(GatewayError error) => error.Type switch
    {
        "System.ArgumentOutOfRangeException" => new ArgumentOutOfRangeException(error.ParamName, error.Message),
        "System.ArgumentNullException" => new ArgumentNullException(error.ParamName, error.Message),
        "System.ArgumentException" => new ArgumentException(error.Message, error.ParamName),
        "System.InvalidOperationException" => new InvalidOperationException(error.Message),
        "System.TimeoutException" => new TimeoutException(error.Message),
        _ => new GrainCallException(error.Type, error.Message),
    };

    /// <summary>The error sent for an exception thrown by a grain call.</summary>
    public static GatewayError FromException(Exception exception) => exception switch
    {
        ArgumentException argument => new GatewayError(exception.GetType().FullName!, StripParamSuffix(argument), argument.ParamName),
        _ => new GatewayError(exception.GetType().FullName!, exception.Message),
    };

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
            actual = $" (actual value: {value})";
        }

        var suffix = $" (Parameter '{e.ParamName}')";
        if (e.ParamName is not null && message.EndsWith(suffix, StringComparison.Ordinal)) message = message[..^suffix.Length];
        return message + actual;
    }
}
