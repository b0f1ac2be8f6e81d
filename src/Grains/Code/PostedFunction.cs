using System.Reflection;
using System.Text.Json;
using Orleans.Jobs.Grains.Interfaces.Code;

namespace Orleans.Jobs.Grains.Code;

/// <summary>
/// A public static method of posted code that may be called by name. Supported: an optional first parameter — a
/// <c>string</c> gets the args as JSON text, any other type gets them deserialised (web defaults, so <c>Pow(int i)</c>
/// takes <c>5</c>) — then optionally a <see cref="CancellationToken"/> or a <see cref="PostedCallContext"/>;
/// returning <c>string</c>, any other value (recorded as JSON), <c>Task</c>/<c>ValueTask</c> of either, or nothing.
/// </summary>
internal sealed class PostedFunction
{
    private const string Supported =
        "use a public static method taking (args), (args, CancellationToken), (args, PostedCallContext) or nothing — args a string (the JSON text) or any JSON-deserialisable type — " +
        "returning string, Task<string>, ValueTask<string>, another JSON-serialisable value (or a task of one), or nothing";

    private readonly MethodInfo _method;
    private readonly Func<string, PostedCallContext, object?[]> _arguments;
    private readonly Type? _argsType;
    private readonly PostedCodeSymbols _symbols;

    private PostedFunction(MethodInfo method, Func<string, PostedCallContext, object?[]> arguments, PostedCodeSymbols symbols)
    {
        _method = method;
        _arguments = arguments;
        _argsType = method.GetParameters().FirstOrDefault()?.ParameterType;
        _symbols = symbols;
    }

    /// <summary>Finds <c>Namespace.Type.Method</c> in <paramref name="assembly"/>; <paramref name="symbols"/> place its errors.</summary>
    /// <exception cref="PostedCodeException">No such public type or static method, or none with a supported signature; the message lists what there is.</exception>
    public static PostedFunction Resolve(Assembly assembly, string function, string hash, PostedCodeSymbols symbols, JsonSerializerOptions json)
    {
        var dot = function.LastIndexOf('.');
        var (typeName, methodName) = (function[..dot], function[(dot + 1)..]);
        var code = $"posted code {hash[..12]} ({assembly.GetName().Name})";
        var type = assembly.GetType(typeName, throwOnError: false);
        if (type is null || !type.IsVisible)
        {
            var types = assembly.GetExportedTypes().Select(t => t.FullName).Order(StringComparer.Ordinal).Take(20).ToList();
            throw new PostedCodeException($"Function {function}: {code} has no public type '{typeName}'. Its public types: {(types.Count == 0 ? "none" : string.Join(", ", types))}.");
        }

        var named = type.GetMethods(BindingFlags.Public | BindingFlags.Static | BindingFlags.Instance).Where(m => m.Name == methodName).ToList();
        var statics = named.Where(m => m.IsStatic && !m.ContainsGenericParameters).ToList();
        if (statics.Count == 0)
        {
            var others = type.GetMethods(BindingFlags.Public | BindingFlags.Static | BindingFlags.DeclaredOnly).Select(m => m.Name).Distinct().Order(StringComparer.Ordinal).Take(20).ToList();
            var why = named.Count > 0 ? $"its method '{methodName}' must be static and not generic" : $"it has no public static method '{methodName}'";
            throw new PostedCodeException($"Function {function}: type {typeName} of {code} cannot run it: {why}. Its public static methods: {(others.Count == 0 ? "none" : string.Join(", ", others))}.");
        }

        var callable = statics.Select(m => (Method: m, Arguments: ArgumentsFor(m, json))).Where(c => c.Arguments is not null).ToList();
        return callable.Count switch
        {
            1 => new PostedFunction(callable[0].Method, callable[0].Arguments!, symbols),
            0 => throw new PostedCodeException($"Function {function} of {code} has an unsupported signature ({string.Join("; ", statics.Select(Describe))}): {Supported}."),
            _ => throw new PostedCodeException($"Function {function} of {code} has {callable.Count} overloads that could run ({string.Join("; ", callable.Select(c => Describe(c.Method)))}): keep one."),
        };
    }

    /// <summary>
    /// Calls the function and returns its result as the job result: text as it is (as a JSON string when
    /// <paramref name="resultAsJson"/>), other values as JSON, nothing as null.
    /// </summary>
    /// <exception cref="PostedCodeException">The args do not fit the parameter, or the function threw; the message names the exception and its message, <see cref="PostedCodeException.Error"/> says where.</exception>
    public async Task<string?> InvokeAsync(string args, PostedCallContext context, JsonSerializerOptions json, bool resultAsJson = false)
    {
        object?[] arguments;
        try
        {
            arguments = _arguments(args, context);
        }
        catch (JsonException e)
        {
            throw new PostedCodeException($"Function {context.Function}: its args cannot be read as {_argsType?.Name}: {e.Message}");
        }

        object? value;
        try
        {
            value = _method.Invoke(null, BindingFlags.DoNotWrapExceptions, null, arguments, null);
            value = await UnwrapAsync(value, _method.ReturnType);
        }
        catch (OperationCanceledException) when (context.CancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception e)
        {
            // The exception's type may belong to the posted code: only its text leaves, so nothing holds the code loaded.
            var error = PostedCodeErrorRecord.From(e, context.Function, _method.Module.Assembly, _symbols);
            throw new PostedCodeException($"Function {context.Function} threw {error.ExceptionType}: {error.Message}", error);
        }

        return value switch
        {
            null => null,
            string text => resultAsJson ? JsonSerializer.Serialize(text, json) : text,
            _ => JsonSerializer.Serialize(value, value.GetType(), json),
        };
    }

    private static async Task<object?> UnwrapAsync(object? value, Type declared)
    {
        if (value is ValueTask valueTask)
        {
            await valueTask;
            return null;
        }

        if (declared.IsGenericType && declared.GetGenericTypeDefinition() == typeof(ValueTask<>))
            value = declared.GetMethod(nameof(ValueTask<int>.AsTask))!.Invoke(value, null);
        if (value is not Task task) return value;
        await task;
        return declared.IsGenericType ? task.GetType().GetProperty(nameof(Task<int>.Result))!.GetValue(task) : null;
    }

    private static Func<string, PostedCallContext, object?[]>? ArgumentsFor(MethodInfo method, JsonSerializerOptions json)
    {
        var types = method.GetParameters().Select(p => p.ParameterType).ToArray();
        return types switch
        {
            [] => static (_, _) => [],
            [var a] when IsArgs(a) => (args, _) => [Read(args, a)],
            [var a, var b] when IsArgs(a) && b == typeof(CancellationToken) => (args, context) => [Read(args, a), context.CancellationToken],
            [var a, var b] when IsArgs(a) && b == typeof(PostedCallContext) => (args, context) => [Read(args, a), context],
            _ => null,
        };

        object? Read(string args, Type type) => type == typeof(string) ? args : JsonSerializer.Deserialize(args, type, json);
    }

    /// <summary>True for a type the args can be given as: text, or a value JSON can be read into (not a token, context, pointer or by-ref).</summary>
    private static bool IsArgs(Type type) =>
        type != typeof(CancellationToken) && type != typeof(PostedCallContext) && !type.IsByRef && !type.IsPointer && !type.ContainsGenericParameters;

    private static string Describe(MethodInfo method) =>
        $"{method.ReturnType.Name} {method.Name}({string.Join(", ", method.GetParameters().Select(p => p.ParameterType.Name))})";
}
