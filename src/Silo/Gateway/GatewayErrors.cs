namespace Orleans.Jobs.Silo.Gateway;

/// <summary>Turns an exception thrown by a grain call into the <see cref="GatewayError"/> the gateway sends.</summary>
public static class GatewayErrors
{
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
