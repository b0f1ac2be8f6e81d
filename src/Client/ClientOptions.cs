using Microsoft.Extensions.Options;

namespace Orleans.Jobs.Client;

/// <summary>Options of a <see cref="ClusterClient"/>.</summary>
public sealed class ClientOptions
{
    /// <summary>Default of <see cref="CallTimeout"/>.</summary>
    public static readonly TimeSpan DefaultCallTimeout = TimeSpan.FromSeconds(30);

    /// <summary>The gateways to call, for example http://127.0.0.1:7171. Calls go round-robin and fail over when a gateway is down.</summary>
    public IList<Uri> Gateways { get; set; } = [];

    /// <summary>The cluster key, matching the silos' Gateway:ClusterKey.</summary>
    public string ClusterKey { get; set; } = "";

    /// <summary>How long a call may take; calls with a "timeout" argument (long polls) get that much more.</summary>
    public TimeSpan CallTimeout { get; set; } = DefaultCallTimeout;

}

internal sealed class ClientOptionsValidator : IValidateOptions<ClientOptions>
{
    public ValidateOptionsResult Validate(string? name, ClientOptions options)
    {
        if (options.Gateways.Count == 0)
            return ValidateOptionsResult.Fail($"{nameof(ClientOptions)}.{nameof(ClientOptions.Gateways)} must name at least one gateway, such as http://127.0.0.1:7171.");
        foreach (var gateway in options.Gateways)
        {
            if (!gateway.IsAbsoluteUri || (gateway.Scheme != Uri.UriSchemeHttp && gateway.Scheme != Uri.UriSchemeHttps))
                return ValidateOptionsResult.Fail($"Gateway '{gateway}' must be an absolute http:// or https:// address.");
        }

        if (string.IsNullOrEmpty(options.ClusterKey))
            return ValidateOptionsResult.Fail($"{nameof(ClientOptions)}.{nameof(ClientOptions.ClusterKey)} must be set to the silos' Gateway:ClusterKey.");
        if (options.CallTimeout <= TimeSpan.Zero)
            return ValidateOptionsResult.Fail($"{nameof(ClientOptions)}.{nameof(ClientOptions.CallTimeout)} must be positive.");
        return ValidateOptionsResult.Success;
    }
}
