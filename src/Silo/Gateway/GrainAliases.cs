using System.Reflection;
using Orleans.Jobs.Grains.Interfaces;

namespace Orleans.Jobs.Silo.Gateway;

/// <summary>
/// The grain interfaces the HTTP gateway serves, by their stable Orleans alias (<c>jobs.queue</c>), and their
/// methods by alias (<c>send</c>): what clients in other languages name, never a .NET type or method name.
/// </summary>
public sealed class GrainAliases
{
    private readonly Dictionary<string, (Type Interface, Dictionary<string, MethodInfo> Methods)> _interfaces = new(StringComparer.Ordinal);

    /// <summary>The interfaces served by default.</summary>
    public static GrainAliases Default { get; } = new(typeof(IQueueGrain), typeof(IRoutingTableGrain));

    /// <summary>Serves <paramref name="interfaces"/>; each must have an alias, and so must each of its methods.</summary>
    /// <exception cref="ArgumentException">An interface or method has no alias.</exception>
    public GrainAliases(params Type[] interfaces)
    {
        foreach (var type in interfaces)
        {
            var alias = type.GetCustomAttribute<AliasAttribute>()?.Alias
                ?? throw new ArgumentException($"Grain interface {type.Name} has no [Alias]: the gateway names grains by alias.", nameof(interfaces));
            var methods = new Dictionary<string, MethodInfo>(StringComparer.Ordinal);
            foreach (var method in type.GetMethods())
                methods.Add(method.GetCustomAttribute<AliasAttribute>()?.Alias
                    ?? throw new ArgumentException($"Method {type.Name}.{method.Name} has no [Alias].", nameof(interfaces)), method);
            _interfaces.Add(alias, (type, methods));
        }
    }

    /// <summary>Every served method, by interface and method alias.</summary>
    public IEnumerable<(string Interface, string Method)> Served =>
        _interfaces.SelectMany(i => i.Value.Methods.Keys.Select(m => (i.Key, m)));

    /// <summary>Finds a served interface and method.</summary>
    /// <exception cref="ArgumentException">No such interface or method; the message lists what there is.</exception>
    public (Type Interface, MethodInfo Method) Resolve(string interfaceAlias, string methodAlias)
    {
        if (!_interfaces.TryGetValue(interfaceAlias, out var served))
            throw new ArgumentException($"There is no grain interface {QueueLimits.Echo(interfaceAlias)}; the gateway serves {string.Join(", ", _interfaces.Keys.Order())}.", "interface");
        if (!served.Methods.TryGetValue(methodAlias, out var method))
            throw new ArgumentException($"Grain interface '{interfaceAlias}' has no method {QueueLimits.Echo(methodAlias)}; it has {string.Join(", ", served.Methods.Keys.Order())}.", "method");
        return (served.Interface, method);
    }
}
