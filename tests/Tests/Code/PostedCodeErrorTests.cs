using System.Runtime.CompilerServices;
using System.Text.Json;
using Microsoft.CodeAnalysis.Emit;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Jobs.Grains.Code;
using Orleans.Jobs.Grains.Interfaces.Code;
using Orleans.Serialization;

namespace Orleans.Jobs.Tests.Code;

/// <summary>The error records of posted functions that throw (Impetus' error, name, line number and statement), with and without symbols.</summary>
public sealed class PostedCodeErrorTests
{
    private static readonly string Source = TestAssemblies.FailingSource();

    /// <summary>A document path the PDB names and this machine does not have.</summary>
    private const string AbsentSourcePath = "/nowhere/posted-code-tests/Failing.cs";

    private static LoadedCode Load(byte[] assembly, byte[]? symbols) =>
        LoadedCode.Load(PostedCodeRules.HashOf(assembly), new PostedAssembly(assembly, symbols), DateTimeOffset.UtcNow);

    private static async Task<PostedCodeException> FailAsync(LoadedCode code, string function, string args = """{"n": 1}""")
    {
        var context = new PostedCallContext { Hash = code.Hash, Function = function, SiloId = "silo-1", CancellationToken = TestContext.Current.CancellationToken };
        Assert.True(code.TryEnter(DateTimeOffset.UtcNow));
        try
        {
            return await Assert.ThrowsAsync<PostedCodeException>(() => code.InvokeAsync(args, context));
        }
        finally
        {
            code.Exit(DateTimeOffset.UtcNow);
        }
    }

    [Theory]
    [InlineData("Failing.Functions.Throws", "helper", "Helper.Fail", "System.InvalidOperationException", "failed on {\"n\": 1}")]
    [InlineData("Failing.Functions.ThrowsLater", "async", "Functions.ThrowsLater", "System.ArgumentException", "later: {\"n\": 1}")]
    [InlineData("Failing.Functions.ThrowsInFramework", "framework", "Functions.ThrowsInFramework", "System.Collections.Generic.KeyNotFoundException", null)]
    public async Task With_a_portable_PDB_the_error_names_the_frame_line_and_statement_read_from_the_source_file(
        string function, string marker, string frame, string exceptionType, string? message)
    {
        var sourceFile = Path.Combine(Directory.CreateTempSubdirectory("oj-posted-source-").FullName, "Failing.cs");
        try
        {
            await File.WriteAllTextAsync(sourceFile, Source, TestContext.Current.CancellationToken);
            var (assembly, pdb) = TestAssemblies.CompileWithSymbols(Source, sourceFile, DebugInformationFormat.PortablePdb, embedSource: false);

            var refused = await FailAsync(Load(assembly, pdb), function);
            var (line, statement) = TestAssemblies.LineOf(Source, marker);
            var error = refused.Error!;
            Assert.Equal((function, frame, exceptionType), (error.Function, error.Frame, error.ExceptionType));
            Assert.Equal((line, statement, sourceFile), (error.Line, error.Statement, error.File));
            if (message is not null) Assert.Equal(message, error.Message);
            Assert.Equal($"Function {function} threw {exceptionType}: {error.Message}", refused.Message);
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(sourceFile)!, recursive: true);
        }
    }

    [Fact]
    public async Task With_an_embedded_PDB_and_embedded_source_the_error_has_the_line_and_statement_without_the_file()
    {
        var (assembly, pdb) = TestAssemblies.CompileWithSymbols(Source, AbsentSourcePath, DebugInformationFormat.Embedded, embedSource: true);
        Assert.Null(pdb);

        var error = (await FailAsync(Load(assembly, symbols: null), "Failing.Functions.Throws")).Error!;
        var (line, statement) = TestAssemblies.LineOf(Source, "helper");
        Assert.Equal(("Helper.Fail", line, statement, AbsentSourcePath), (error.Frame, error.Line, error.Statement, error.File));
    }

    [Fact]
    public async Task A_posted_PDB_with_embedded_source_gives_the_statement_too()
    {
        var (assembly, pdb) = TestAssemblies.CompileWithSymbols(Source, AbsentSourcePath, DebugInformationFormat.PortablePdb, embedSource: true);

        var error = (await FailAsync(Load(assembly, pdb), "Failing.Functions.ThrowsLater")).Error!;
        Assert.Equal(TestAssemblies.LineOf(Source, "async"), (error.Line!.Value, error.Statement!));
    }

    [Fact]
    public async Task Without_the_source_the_error_has_the_line_but_no_statement()
    {
        var (assembly, pdb) = TestAssemblies.CompileWithSymbols(Source, AbsentSourcePath, DebugInformationFormat.PortablePdb, embedSource: false);

        var error = (await FailAsync(Load(assembly, pdb), "Failing.Functions.Throws")).Error!;
        Assert.Equal((TestAssemblies.LineOf(Source, "helper").Number, (string?)null, AbsentSourcePath), (error.Line, error.Statement, error.File));
    }

    [Fact]
    public async Task Without_symbols_the_error_has_the_message_and_frame_but_no_line()
    {
        var refused = await FailAsync(Load(TestAssemblies.Compile(Source, "Failing"), symbols: null), "Failing.Functions.Throws");
        Assert.Equal(
            new PostedCodeError("failed on {\"n\": 1}", "System.InvalidOperationException", "Failing.Functions.Throws", "Helper.Fail", null, null, null),
            refused.Error);
        Assert.Contains("threw System.InvalidOperationException: failed on", refused.Message);
    }

    [Fact]
    public async Task A_call_that_fails_before_the_function_runs_has_no_error_record()
    {
        var refused = await FailAsync(Load(TestAssemblies.Compile(Source, "Failing"), symbols: null), "Failing.Functions.Nope");
        Assert.Null(refused.Error);
    }

    [Fact]
    public void The_record_round_trips_through_JSON_with_camelCase_names_and_through_Orleans()
    {
        var error = new PostedCodeError("boom", "System.InvalidOperationException", "Failing.Functions.Throws", "Helper.Fail", 27, "throw new X();", "/src/Failing.cs");
        var json = JsonSerializer.Serialize(error);
        Assert.Equal(
            """{"message":"boom","exceptionType":"System.InvalidOperationException","function":"Failing.Functions.Throws","frame":"Helper.Fail","line":27,"statement":"throw new X();","file":"/src/Failing.cs"}""",
            json);
        Assert.Equal(error, JsonSerializer.Deserialize<PostedCodeError>(json));

        using var services = new ServiceCollection().AddSerializer().BuildServiceProvider();
        var serializer = services.GetRequiredService<Serializer>();
        Assert.Equal(error, serializer.Deserialize<PostedCodeError>(serializer.SerializeToArray(error)));
        var exception = serializer.Deserialize<PostedCodeException>(serializer.SerializeToArray(new PostedCodeException("Function threw", error)))!;
        Assert.Equal(("Function threw", error), (exception.Message, exception.Error));
    }

    [Fact]
    public async Task A_version_whose_function_threw_with_symbols_still_unloads()
    {
        var (watch, code) = await LoadAndFailAsync();
        Assert.True(code.Retire());
        code = null!;
        await Eventually.TrueAsync(() => { TestAssemblies.CollectUnloaded(); return !watch.IsAlive; }, "the load context of a version whose function threw to be collected");
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static async Task<(WeakReference, LoadedCode)> LoadAndFailAsync()
    {
        var (assembly, pdb) = TestAssemblies.CompileWithSymbols(TestAssemblies.FailingSource(), AbsentSourcePath, DebugInformationFormat.PortablePdb, embedSource: true);
        var code = Load(assembly, pdb);
        Assert.NotNull((await FailAsync(code, "Failing.Functions.ThrowsLater")).Error!.Statement);
        return (code.WatchContext(), code);
    }
}
