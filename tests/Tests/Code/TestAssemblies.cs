using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace Orleans.Jobs.Tests.Code;

/// <summary>Compiles the assemblies tests post, in memory with Roslyn, against the framework and Orleans.Jobs' contracts.</summary>
public static class TestAssemblies
{
    private static readonly Lazy<IReadOnlyList<MetadataReference>> References = new(() =>
        [.. ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator)
            .Where(path => Path.GetFileName(path) is var name && (name.StartsWith("System.", StringComparison.Ordinal) || name is "netstandard.dll" or "Orleans.Jobs.Grains.Interfaces.dll"))
            .Select(path => MetadataReference.CreateFromFile(path))]);

    /// <summary>The demo functions of version <paramref name="version"/>; <paramref name="build"/> makes the bytes (and so the hash) unique.</summary>
    public static byte[] Demo(int version, string? build = null) => Compile(DemoSource(version, build ?? Guid.NewGuid().ToString("N")));

    /// <summary>Compiles C# into a deterministic DLL named <paramref name="assemblyName"/>.</summary>
    /// <exception cref="InvalidOperationException">It does not compile; the message lists the errors.</exception>
    public static byte[] Compile(string source, string assemblyName = "Demo")
    {
        var compilation = CSharpCompilation.Create(
            assemblyName,
            [CSharpSyntaxTree.ParseText(source, new CSharpParseOptions(LanguageVersion.Latest))],
            References.Value,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, deterministic: true, nullableContextOptions: NullableContextOptions.Enable));
        using var image = new MemoryStream();
        var emitted = compilation.Emit(image);
        if (!emitted.Success)
            throw new InvalidOperationException("The test assembly does not compile:\n" + string.Join("\n", emitted.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error)));
        return image.ToArray();
    }

    /// <summary>Runs the garbage collector so unloaded load contexts are collected (tests watch them through weak references).</summary>
    public static void CollectUnloaded()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
    }

    /// <summary>
    /// Functions of every supported shape and a few unsupported ones. <c>Square</c> returns n² × version, so two
    /// versions give different answers; <c>Gate</c> completes the <see cref="TaskCompletionSource"/> named "arrived"
    /// in its args and waits for the one named "gate": the test puts both in the app domain's data (a type both sides share).
    /// </summary>
    private static string DemoSource(int version, string build) => $$"""
        using System;
        using System.Text.Json;
        using System.Threading;
        using System.Threading.Tasks;
        using Orleans.Jobs.Grains.Interfaces.Code;

        namespace Demo;

        public static class Functions
        {
            public const int Version = {{version}};
            public const string Build = "{{build}}";

            public static string Square(string args)
            {
                using var json = JsonDocument.Parse(args);
                var n = json.RootElement.GetProperty("n").GetInt64();
                return (n * n * Version).ToString();
            }

            public static async Task<string> WhereAmI(string args, PostedCallContext context)
            {
                await Task.Delay(20, context.CancellationToken);
                return $"v{Version}|{context.SiloId}|{context.JobId}|{context.Attempt}";
            }

            public static async Task<string> Gate(string args)
            {
                using var json = JsonDocument.Parse(args);
                TaskCompletionSource Shared(string name) => (TaskCompletionSource)AppDomain.CurrentDomain.GetData(json.RootElement.GetProperty(name).GetString()!)!;
                Shared("arrived").TrySetResult();
                await Shared("gate").Task;
                return $"passed v{Version}";
            }

            public static async Task<string?> Delayed(string args, CancellationToken cancellationToken)
            {
                await Task.Delay(1, cancellationToken);
                return args;
            }

            public static ValueTask<string> Value() => ValueTask.FromResult("value");

            public static Point Json(string args) => new(3, Version);

            public static Task<Point> JsonLater(string args) => Task.FromResult(new Point(4, Version));

            public static void Nothing(string args) { }

            public static Task NothingLater(string args) => Task.CompletedTask;

            public static string Throws(string args) => throw new InvalidOperationException("boom");

            public static string Numbers(int n) => n.ToString();

            public static string Twice(string args) => "one";

            public static string Twice(string args, CancellationToken cancellationToken) => "two";
        }

        public sealed record Point(int X, int Y);

        public sealed class Instance
        {
            public string Run(string args) => "instance";
        }

        internal static class Hidden
        {
            public static string Run(string args) => "hidden";
        }
        """;
}
