using System.Diagnostics;
using System.Reflection;
using Orleans.Jobs.Grains.Interfaces.Code;

namespace Orleans.Jobs.Grains.Code;

/// <summary>Builds the <see cref="PostedCodeError"/> of a posted function that threw: the one place its fields are decided.</summary>
internal static class PostedCodeErrorRecord
{
    /// <summary>
    /// What <paramref name="exception"/> says, where in <paramref name="assembly"/> it was thrown (the deepest frame of
    /// the posted code: a throw inside the framework points at the posted line that called it), and that line's source.
    /// Only text is kept, so the record holds nothing of the posted code.
    /// </summary>
    public static PostedCodeError From(Exception exception, string function, Assembly assembly, PostedCodeSymbols symbols)
    {
        var frame = new StackTrace(exception, fNeedFileInfo: true).GetFrames()
            .FirstOrDefault(f => f.GetMethod() is { } method && method.Module.Assembly == assembly);
        var method = frame?.GetMethod();
        var line = frame?.GetFileLineNumber() is > 0 and var number ? number : (int?)null;
        var file = frame?.GetFileName();
        return new PostedCodeError(
            exception.Message,
            exception.GetType().FullName ?? exception.GetType().Name,
            function,
            method is null ? null : SourceName(method),
            line,
            file is not null && line is { } at ? symbols.StatementAt(file, at) : null,
            file);
    }

    /// <summary>
    /// <c>Type.Method</c> as written in source: the compiler's types and methods of async methods, iterators, lambdas
    /// and local functions (<c>&lt;Run&gt;d__3.MoveNext</c>, <c>&lt;&gt;c.&lt;Run&gt;b__0_0</c>) name the method they came from.
    /// </summary>
    private static string SourceName(MethodBase method)
    {
        var name = method.Name;
        var type = method.DeclaringType;
        while (type is not null && type.Name.StartsWith('<'))
        {
            if (GeneratedFrom(type.Name) is { } outer && !name.StartsWith('<')) name = outer;
            type = type.DeclaringType;
        }

        name = GeneratedFrom(name) ?? name;
        return type is null ? name : $"{TypeName(type)}.{name}";
    }

    /// <summary>"Run" of a compiler-generated name "&lt;Run&gt;…" (or "&lt;&lt;Run&gt;…&gt;…", nested); null for other names.</summary>
    private static string? GeneratedFrom(string name)
    {
        var inner = name.TrimStart('<');
        var end = inner.IndexOf('>');
        return inner.Length < name.Length && end > 0 ? inner[..end] : null;
    }

    private static string TypeName(Type type) => type.DeclaringType is { } outer ? $"{TypeName(outer)}+{type.Name}" : type.Name;
}
