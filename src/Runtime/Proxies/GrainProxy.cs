using System.Reflection;

namespace Orleans.Jobs.Runtime.Proxies;

/// <summary>The one proxy class behind every grain reference: it turns interface calls into invoker calls.</summary>
public class GrainProxy : DispatchProxy
{
    private GrainInterface _interface = null!;
    private IGrainCallInvoker _invoker = null!;

    /// <summary>The grain this proxy refers to.</summary>
    public GrainId GrainId { get; private set; }

    /// <summary>Creates a proxy of <typeparamref name="TGrainInterface"/> for the grain with key <paramref name="key"/>.</summary>
    public static TGrainInterface Create<TGrainInterface>(string key, IGrainCallInvoker invoker) where TGrainInterface : IGrainWithStringKey
    {
        var grainInterface = GrainInterface.Of(typeof(TGrainInterface));
        var grainId = GrainId.Create(grainInterface.GrainType, key);
        var proxy = Create<TGrainInterface, GrainProxy>();
        var self = (GrainProxy)(object)proxy;
        self._interface = grainInterface;
        self._invoker = invoker;
        self.GrainId = grainId;
        return proxy;
    }

    /// <inheritdoc />
    protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
    {
        ArgumentNullException.ThrowIfNull(targetMethod);
        return _interface.GetMethod(targetMethod).Dispatch(_invoker, GrainId, args ?? []);
    }
}

/// <summary>Helpers on grain references.</summary>
public static class GrainReferenceExtensions
{
    /// <summary>The key of a grain reference or grain instance.</summary>
    public static string GetPrimaryKeyString(this IGrainWithStringKey grain) => grain switch
    {
        GrainProxy proxy => proxy.GrainId.Key,
        Grain instance => instance.GetPrimaryKeyString(),
        _ => throw new ArgumentException($"{grain.GetType().Name} is neither a grain reference nor a grain.", nameof(grain)),
    };
}
