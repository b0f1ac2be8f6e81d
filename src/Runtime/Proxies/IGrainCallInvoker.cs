namespace Orleans.Jobs.Runtime.Proxies;

/// <summary>
/// Carries a grain call to where it runs: into a local silo, or over HTTP to a gateway.
/// Grain proxies hand every call to one of these.
/// </summary>
public interface IGrainCallInvoker
{
    /// <summary>Invokes <paramref name="method"/> on <paramref name="grain"/>; returns its result, or null for a plain Task.</summary>
    Task<object?> InvokeAsync(GrainId grain, GrainMethod method, object?[] arguments);
}
