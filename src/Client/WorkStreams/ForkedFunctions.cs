using System.Reflection;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Orleans.Jobs.Client.Code;
using Orleans.Jobs.Grains.Interfaces.Code;
using Orleans.Jobs.Grains.Interfaces.WorkStreams;

namespace Orleans.Jobs.Client.WorkStreams;

/// <summary>
/// Turns a forked method into posted code (Impetus marshals the function's bytecode): the assembly declaring it is
/// posted once per client by content hash, and the fork names the method. Only a public static method of a public
/// type can travel — a lambda or local function lives in a compiler-made closure no silo can call by name.
/// </summary>
internal sealed class ForkedFunctions(PostedCode code, string streamId)
{
    private readonly Dictionary<Assembly, Task<string>> _posted = [];
    private readonly Lock _gate = new();

    /// <summary>Arguments travel as JSON the silo reads with its posted code's options (web defaults).</summary>
    public static JsonSerializerOptions ArgumentJson { get; } = new(JsonSerializerDefaults.Web);

    /// <summary>The fork request for calling <paramref name="method"/> with <paramref name="args"/>, posting its assembly first when needed.</summary>
    /// <exception cref="ArgumentException">The method cannot travel, or its arguments are not JSON-serialisable; the message says why.</exception>
    public async Task<ForkRequest> ForkAsync(MethodInfo method, object? args, string callback, ForkOptions? options, CancellationToken cancellationToken)
    {
        var function = FunctionName(method);
        string json;
        try
        {
            json = JsonSerializer.Serialize(args, ArgumentJson);
        }
        catch (Exception e) when (e is NotSupportedException or JsonException or InvalidOperationException)
        {
            throw new ArgumentException($"The arguments of fork {function} ({args?.GetType().Name ?? "null"}) cannot be written as JSON: {e.Message}", nameof(args), e);
        }

        var hash = await PostAsync(method.DeclaringType!.Assembly).WaitAsync(cancellationToken);
        return new ForkRequest(options?.Name ?? method.Name, hash, function, json, callback, options?.Delay, options?.Priority);
    }

    /// <summary><c>Namespace.Type.Method</c> of a method that can travel.</summary>
    /// <exception cref="ArgumentException">It cannot.</exception>
    public static string FunctionName(MethodInfo method)
    {
        var type = method.DeclaringType;
        var why = type is null ? "it belongs to no type"
            : method.IsDefined(typeof(CompilerGeneratedAttribute)) || type.IsDefined(typeof(CompilerGeneratedAttribute)) || method.Name.Contains('<') ? "it is a lambda or local function"
            : !method.IsStatic ? "it is not static"
            : !method.IsPublic || !type.IsVisible ? "it or its type is not public"
            : method.IsGenericMethod || type.ContainsGenericParameters ? "it is generic"
            : string.IsNullOrEmpty(type.Assembly.Location) ? $"its assembly {type.Assembly.GetName().Name} was not loaded from a file, so it cannot be posted"
            : null;
        if (why is not null)
            throw new ArgumentException($"Cannot fork {type?.Name}.{method.Name}: {why}. Fork a public static method of a public type (Impetus' @Client.node functions); it travels as posted code.", nameof(method));
        var name = $"{type!.FullName}.{method.Name}";
        PostedCodeRules.ValidateFunctionName(name, nameof(method));
        return name;
    }

    private Task<string> PostAsync(Assembly assembly)
    {
        lock (_gate)
        {
            if (_posted.TryGetValue(assembly, out var posted) && !posted.IsFaulted && !posted.IsCanceled) return posted;
            posted = PostFileAsync(assembly);
            _posted[assembly] = posted;
            return posted;
        }
    }

    private async Task<string> PostFileAsync(Assembly assembly) =>
        (await code.PostFileAsync(assembly.Location, $"forked functions of work stream {streamId}: {assembly.GetName().Name}")).Hash;
}

/// <summary>What a single fork may set besides its function and arguments.</summary>
public sealed record ForkOptions
{
    /// <summary>Its name in records and progress; the method's name by default.</summary>
    public string? Name { get; init; }

    /// <summary>How long it waits before it may run; the stream's job delay by default.</summary>
    public TimeSpan? Delay { get; init; }

    /// <summary>Its priority (higher runs first); the stream's job priority by default.</summary>
    public int? Priority { get; init; }
}
