using System.Collections.Concurrent;
using System.Reflection;

namespace Orleans.Jobs.Runtime.Proxies;

/// <summary>What the runtime knows about one grain interface method: how to call it and what it returns.</summary>
public sealed class GrainMethod
{
    private static readonly MethodInfo TypedResultReader = typeof(GrainMethod).GetMethod(nameof(ReadResult), BindingFlags.NonPublic | BindingFlags.Static)!;
    private static readonly MethodInfo TypedDispatcher = typeof(GrainMethod).GetMethod(nameof(DispatchTyped), BindingFlags.NonPublic | BindingFlags.Static)!;

    private readonly Func<Task, object?> _readResult;
    private readonly Func<IGrainCallInvoker, GrainId, GrainMethod, object?[], object> _dispatch;

    internal GrainMethod(GrainInterface owner, MethodInfo method)
    {
        Interface = owner;
        Method = method;
        Name = method.Name;
        var parameters = method.GetParameters();
        Parameters = parameters;
        CancellationTokenIndex = Array.FindIndex(parameters, p => p.ParameterType == typeof(CancellationToken));
        AlwaysInterleave = method.IsDefined(typeof(AlwaysInterleaveAttribute), inherit: false);
        WaitTimeoutIndex = Array.FindIndex(parameters, p => p.ParameterType == typeof(TimeSpan) && p.Name == "timeout");

        if (method.ReturnType == typeof(Task))
        {
            ResultType = null;
            _readResult = static _ => null;
            _dispatch = static (invoker, grain, m, args) => invoker.InvokeAsync(grain, m, args);
        }
        else if (method.ReturnType.IsGenericType && method.ReturnType.GetGenericTypeDefinition() == typeof(Task<>))
        {
            ResultType = method.ReturnType.GetGenericArguments()[0];
            _readResult = TypedResultReader.MakeGenericMethod(ResultType).CreateDelegate<Func<Task, object?>>();
            _dispatch = TypedDispatcher.MakeGenericMethod(ResultType).CreateDelegate<Func<IGrainCallInvoker, GrainId, GrainMethod, object?[], object>>();
        }
        else
        {
            throw new InvalidOperationException($"Grain interface method {owner.Type.Name}.{method.Name} must return Task or Task<T>; it returns {method.ReturnType.Name}.");
        }
    }

    /// <summary>The grain interface declaring the method.</summary>
    public GrainInterface Interface { get; }

    /// <summary>The interface method.</summary>
    public MethodInfo Method { get; }

    /// <summary>The method name, unique within its interface.</summary>
    public string Name { get; }

    /// <summary>The method's parameters.</summary>
    public IReadOnlyList<ParameterInfo> Parameters { get; }

    /// <summary>The position of a <see cref="CancellationToken"/> parameter, or -1. It never crosses the wire.</summary>
    public int CancellationTokenIndex { get; }

    /// <summary>
    /// The position of a <see cref="TimeSpan"/> parameter named "timeout", or -1. By convention such a method may block
    /// that long (a long poll), so remote callers extend their call deadline by it.
    /// </summary>
    public int WaitTimeoutIndex { get; }

    /// <summary>The T of Task&lt;T&gt;, or null for a plain Task.</summary>
    public Type? ResultType { get; }

    /// <summary>True when the method runs outside the grain's turn (<see cref="AlwaysInterleaveAttribute"/>).</summary>
    public bool AlwaysInterleave { get; }

    /// <summary>Reads the result of a completed task returned by this method.</summary>
    public object? GetResult(Task completed) => _readResult(completed);

    internal object Dispatch(IGrainCallInvoker invoker, GrainId grain, object?[] args) => _dispatch(invoker, grain, this, args);

    private static object? ReadResult<T>(Task task) => ((Task<T>)task).Result;

    private static async Task<T> DispatchTyped<T>(IGrainCallInvoker invoker, GrainId grain, GrainMethod method, object?[] args) =>
        (T)(await invoker.InvokeAsync(grain, method, args))!;
}

/// <summary>A validated grain interface: its type name and methods.</summary>
public sealed class GrainInterface
{
    private static readonly ConcurrentDictionary<Type, GrainInterface> Cache = new();
    private readonly Dictionary<MethodInfo, GrainMethod> _byMethod = [];
    private readonly Dictionary<string, GrainMethod> _byName = new(StringComparer.Ordinal);

    private GrainInterface(Type type)
    {
        if (!type.IsInterface || !typeof(IGrain).IsAssignableFrom(type))
            throw new ArgumentException($"{type.FullName} is not a grain interface: it must be an interface deriving from {nameof(IGrain)}.", nameof(type));

        Type = type;
        GrainType = type.GetCustomAttribute<GrainTypeAttribute>()?.Name ?? type.FullName!;
        foreach (var declaring in type.GetInterfaces().Append(type))
        {
            foreach (var method in declaring.GetMethods())
            {
                var grainMethod = new GrainMethod(this, method);
                if (!_byName.TryAdd(method.Name, grainMethod))
                    throw new InvalidOperationException($"Grain interface {type.Name} has two methods named {method.Name}; grain methods are called by name, so overloads are not allowed.");
                _byMethod.Add(method, grainMethod);
            }
        }
    }

    /// <summary>The interface type.</summary>
    public Type Type { get; }

    /// <summary>The grain type name used in grain ids.</summary>
    public string GrainType { get; }

    /// <summary>The methods, by name.</summary>
    public IReadOnlyDictionary<string, GrainMethod> Methods => _byName;

    /// <summary>Returns the validated description of a grain interface.</summary>
    /// <exception cref="ArgumentException">The type is not a grain interface.</exception>
    /// <exception cref="InvalidOperationException">A method breaks the grain interface rules.</exception>
    public static GrainInterface Of(Type type) => Cache.GetOrAdd(type, static t => new GrainInterface(t));

    internal GrainMethod GetMethod(MethodInfo method) => _byMethod[method];
}
