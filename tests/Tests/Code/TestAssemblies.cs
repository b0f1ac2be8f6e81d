using System.Text;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Emit;
using Microsoft.CodeAnalysis.Text;

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

    /// <summary>Compiles C# into a deterministic DLL named <paramref name="assemblyName"/>, without debug information.</summary>
    /// <exception cref="InvalidOperationException">It does not compile; the message lists the errors.</exception>
    public static byte[] Compile(string source, string assemblyName = "Demo") => Emit(source, assemblyName, "", symbols: null, embedSource: false).Assembly;

    /// <summary>
    /// Compiles C# read from <paramref name="sourcePath"/> (the document the PDB names; the file need not exist) with
    /// its debug information: a portable PDB beside the DLL (<see cref="DebugInformationFormat.PortablePdb"/>, returned
    /// as Pdb) or inside it (<see cref="DebugInformationFormat.Embedded"/>, Pdb null); <paramref name="embedSource"/>
    /// puts the source text in the PDB.
    /// </summary>
    /// <exception cref="InvalidOperationException">It does not compile; the message lists the errors.</exception>
    public static (byte[] Assembly, byte[]? Pdb) CompileWithSymbols(string source, string sourcePath, DebugInformationFormat symbols, bool embedSource, string assemblyName = "Failing") =>
        Emit(source, assemblyName, sourcePath, symbols, embedSource);

    private static (byte[] Assembly, byte[]? Pdb) Emit(string source, string assemblyName, string sourcePath, DebugInformationFormat? symbols, bool embedSource)
    {
        var text = SourceText.From(source, Encoding.UTF8);
        var compilation = CSharpCompilation.Create(
            assemblyName,
            [CSharpSyntaxTree.ParseText(text, new CSharpParseOptions(LanguageVersion.Latest), sourcePath)],
            References.Value,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, deterministic: true, nullableContextOptions: NullableContextOptions.Enable));
        using var image = new MemoryStream();
        using var pdb = symbols == DebugInformationFormat.PortablePdb ? new MemoryStream() : null;
        var emitted = compilation.Emit(
            image,
            pdb,
            options: symbols is { } format ? new EmitOptions(debugInformationFormat: format, pdbFilePath: Path.ChangeExtension(assemblyName, ".pdb")) : null,
            embeddedTexts: embedSource ? [EmbeddedText.FromSource(sourcePath, text)] : null);
        if (!emitted.Success)
            throw new InvalidOperationException("The test assembly does not compile:\n" + string.Join("\n", emitted.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error)));
        return (image.ToArray(), pdb?.ToArray());
    }

    /// <summary>
    /// Functions of namespace <c>Failing</c> that throw in known places: each throwing line ends with a comment
    /// <c>// line:name</c> (<see cref="LineOf"/> finds it). <paramref name="build"/> makes the bytes unique.
    /// </summary>
    public static string FailingSource(string? build = null) => $$"""
        using System;
        using System.Text.Json;
        using System.Threading.Tasks;

        namespace Failing;

        public static class Functions
        {
            public static string Throws(string args) => Helper.Fail(args);

            public static async Task<string> ThrowsLater(string args)
            {
                await Task.Yield();
                throw new ArgumentException("later: " + args); // line:async
            }

            public static string ThrowsInFramework(string args) =>
                JsonDocument.Parse(args).RootElement.GetProperty("missing").GetString()!; // line:framework

            public static string Square(string args) => "ok"; // line:square
        }

        public static class Helper
        {
            public const string Build = "{{build ?? Guid.NewGuid().ToString("N")}}";

            public static string Fail(string args)
            {
                throw new InvalidOperationException("failed on " + args); // line:helper
            }
        }
        """;

    /// <summary>
    /// Functions of namespace <c>Isolated</c> for code hosts: where they run, a throw on a known line
    /// (<c>// line:child-throw</c>), crashes that end a process, console output, and a hang that first writes the file
    /// named by its args' "started".
    /// </summary>
    public static string IsolatedSource(string? build = null) => $$"""
        using System;
        using System.IO;
        using System.Text.Json;
        using System.Threading;
        using Orleans.Jobs.Grains.Interfaces.Code;

        namespace Isolated;

        public static class Functions
        {
            public const string Build = "{{build ?? Guid.NewGuid().ToString("N")}}";

            public static string WhereAmI(string args, PostedCallContext context) =>
                $"{Environment.ProcessId}|{context.SiloId}|{context.JobId}|{context.Attempt}|{args}";

            public static string Throws(string args)
            {
                throw new InvalidOperationException("thrown in the child"); // line:child-throw
            }

            public static string FailFast(string args)
            {
                Environment.FailFast("posted code failed fast");
                return "unreachable";
            }

            public static string ThrowOnAThreadOfItsOwn(string args)
            {
                var thread = new Thread(() => throw new InvalidOperationException("thrown on a thread of its own"));
                thread.Start();
                thread.Join();
                return "unreachable";
            }

            public static string Chatty(string args)
            {
                // A line shaped like the first call's reply: on the protocol's stdout it would be taken for one.
                Console.WriteLine("{\"id\":1,\"result\":\"forged\"}");
                Console.WriteLine("plain text from job code");
                Console.Out.Flush();
                return "the real result";
            }

            public static string Hang(string args)
            {
                using var json = JsonDocument.Parse(args);
                File.WriteAllText(json.RootElement.GetProperty("started").GetString()!, "started");
                Thread.Sleep(Timeout.Infinite);
                return "unreachable";
            }
        }
        """;

    /// <summary>The 1-based number of the line of <paramref name="source"/> that ends with <c>// line:<paramref name="marker"/></c>, and its text, trimmed.</summary>
    public static (int Number, string Text) LineOf(string source, string marker)
    {
        var lines = source.Split('\n');
        var index = Array.FindIndex(lines, line => line.TrimEnd().EndsWith($"// line:{marker}", StringComparison.Ordinal));
        if (index < 0) throw new ArgumentException($"No line of the source ends with '// line:{marker}'.", nameof(marker));
        return (index + 1, lines[index].Trim());
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

            public static string Numbers(int n, int m) => (n + m).ToString(); // two arguments: no supported signature

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
