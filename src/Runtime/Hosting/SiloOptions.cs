using Microsoft.Extensions.Options;

namespace Orleans.Jobs.Runtime.Hosting;

/// <summary>Identity of a silo.</summary>
public sealed class SiloOptions
{
    /// <summary>Unique id of this silo process. Defaults to "silo-" and a new GUID.</summary>
    public string SiloId { get; set; } = $"silo-{Guid.NewGuid():N}";

    /// <summary>The node (host) this silo runs on. Defaults to the machine name.</summary>
    public string Node { get; set; } = Environment.MachineName;

    /// <summary>The address of this silo's gateway, recorded in the membership table; set by the gateway when it starts.</summary>
    public string? GatewayAddress { get; set; }
}

internal sealed class SiloOptionsValidator : IValidateOptions<SiloOptions>
{
    public ValidateOptionsResult Validate(string? name, SiloOptions options)
    {
        if (string.IsNullOrWhiteSpace(options.SiloId) || options.SiloId.Length > 128)
            return ValidateOptionsResult.Fail($"{nameof(SiloOptions)}.{nameof(SiloOptions.SiloId)} must be 1 to 128 characters and not blank.");
        if (string.IsNullOrWhiteSpace(options.Node) || options.Node.Length > 128)
            return ValidateOptionsResult.Fail($"{nameof(SiloOptions)}.{nameof(SiloOptions.Node)} must be 1 to 128 characters and not blank.");
        return ValidateOptionsResult.Success;
    }
}
