using Orleans.Jobs.Runtime.Proxies;

namespace Orleans.Jobs.Runtime.Hosting;

/// <summary>A grain interface and the class that implements it on silos.</summary>
public sealed record GrainRegistration(GrainInterface Interface, Type Implementation);

/// <summary>The grains a silo can host, by grain type and by interface name.</summary>
public sealed class GrainRegistry
{
    private readonly Dictionary<string, GrainRegistration> _byGrainType = new(StringComparer.Ordinal);
    private readonly Dictionary<string, GrainRegistration> _byInterfaceName = new(StringComparer.Ordinal);

    /// <summary>Builds the registry from the registrations added with <c>AddGrain</c>.</summary>
    public GrainRegistry(IEnumerable<GrainRegistration> registrations)
    {
        foreach (var registration in registrations)
        {
            if (!_byGrainType.TryAdd(registration.Interface.GrainType, registration))
            {
                if (_byGrainType[registration.Interface.GrainType] == registration) continue;
                throw new InvalidOperationException($"Grain type '{registration.Interface.GrainType}' is registered twice ({_byGrainType[registration.Interface.GrainType].Implementation.Name} and {registration.Implementation.Name}).");
            }

            _byInterfaceName[registration.Interface.Type.FullName!] = registration;
        }
    }

    /// <summary>All registrations.</summary>
    public IEnumerable<GrainRegistration> All => _byGrainType.Values;

    /// <summary>The registration for a grain type.</summary>
    /// <exception cref="ArgumentException">No grain of that type is registered.</exception>
    public GrainRegistration ForGrainType(string grainType) =>
        _byGrainType.GetValueOrDefault(grainType)
        ?? throw new ArgumentException($"No grain implementation is registered for grain type '{grainType}'. Register one with AddGrain<TInterface, TGrain>().", nameof(grainType));

    /// <summary>The registration for a grain interface, by its full name (as the gateway receives it).</summary>
    /// <exception cref="ArgumentException">No grain with that interface is registered.</exception>
    public GrainRegistration ForInterfaceName(string interfaceName) =>
        _byInterfaceName.GetValueOrDefault(interfaceName)
        ?? throw new ArgumentException($"Unknown grain interface '{interfaceName}': this silo hosts {string.Join(", ", _byInterfaceName.Keys.Order())}.", nameof(interfaceName));
}
