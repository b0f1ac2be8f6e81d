using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.CodeAnalysis.Emit;
using Orleans.Jobs.Grains.Interfaces.Code;

namespace Orleans.Jobs.Tests.Code;

public sealed class PostedCodeRulesTests
{
    [Fact]
    public void The_hash_is_the_lowercase_hex_SHA256_of_the_bytes()
    {
        Assert.Equal("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", PostedCodeRules.HashOf("abc"u8));
        PostedCodeRules.ValidateHash(PostedCodeRules.HashOf("abc"u8));
        Assert.Contains("64 lowercase hex", Assert.Throws<ArgumentException>(() => PostedCodeRules.ValidateHash("BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD")).Message);
        Assert.Throws<ArgumentException>(() => PostedCodeRules.ValidateHash("ba7816bf"));
        Assert.Throws<ArgumentException>(() => PostedCodeRules.ValidateHash(null));
    }

    [Theory]
    [InlineData("Demo.Functions.Square")]
    [InlineData("Functions.Square")]
    [InlineData("My_Company.Kernels.Outer+Inner.Run2")]
    public void Function_names_are_namespace_type_method(string function) => PostedCodeRules.ValidateFunctionName(function);

    [Theory]
    [InlineData("Square")]
    [InlineData("Demo.Functions.")]
    [InlineData(".Functions.Square")]
    [InlineData("Demo.Functions.Square()")]
    [InlineData("Demo Functions.Square")]
    [InlineData("")]
    public void Other_function_names_are_refused_naming_the_rule(string function) =>
        Assert.Contains("Namespace.Type.Method", Assert.Throws<ArgumentException>(() => PostedCodeRules.ValidateFunctionName(function)).Message);

    [Fact]
    public void Descriptions_are_text_of_at_most_1000_characters()
    {
        PostedCodeRules.ValidateDescription("sweep kernels");
        Assert.Contains("empty", Assert.Throws<ArgumentException>(() => PostedCodeRules.ValidateDescription("  ")).Message);
        Assert.Contains("limit is 1000", Assert.Throws<ArgumentException>(() => PostedCodeRules.ValidateDescription(new string('d', 1001))).Message);
        Assert.Contains("NUL", Assert.Throws<ArgumentException>(() => PostedCodeRules.ValidateDescription("a\0b")).Message);
        Assert.Throws<ArgumentNullException>(() => PostedCodeRules.ValidateDescription(null));
    }

    [Fact]
    public void Git_commits_are_full_ids_or_none()
    {
        PostedCodeRules.ValidateGitCommit(null);
        PostedCodeRules.ValidateGitCommit(new string('a', 40));
        PostedCodeRules.ValidateGitCommit(new string('0', 64));
        Assert.Contains("rev-parse", Assert.Throws<ArgumentException>(() => PostedCodeRules.ValidateGitCommit("abc1234")).Message);
        Assert.Throws<ArgumentException>(() => PostedCodeRules.ValidateGitCommit(new string('A', 40)));
    }

    [Fact]
    public void Only_a_dotnet_assembly_within_the_size_limit_is_accepted()
    {
        Assert.StartsWith("Demo, Version=0.0.0.0", PostedCodeRules.ValidateAssembly(TestAssemblies.Demo(1)));
        Assert.Contains("empty", Assert.Throws<ArgumentException>(() => PostedCodeRules.ValidateAssembly([])).Message);
        Assert.Contains("empty", Assert.Throws<ArgumentException>(() => PostedCodeRules.ValidateAssembly(null)).Message);
        Assert.Contains("not a .NET assembly", Assert.Throws<ArgumentException>(() => PostedCodeRules.ValidateAssembly(Encoding.UTF8.GetBytes("#!/bin/sh\necho not an assembly\n"))).Message);
        var tooLarge = Assert.Throws<ArgumentException>(() => PostedCodeRules.ValidateAssembly(new byte[PostedCodeRules.MaxAssemblyBytes + 1]));
        Assert.Contains("limit is 16777216 (16 MiB)", tooLarge.Message);
        Assert.Equal("assembly", tooLarge.ParamName);
    }

    [Fact]
    public void Symbols_are_none_or_the_portable_PDB_of_the_posted_build()
    {
        var source = TestAssemblies.FailingSource();
        var (assembly, pdb) = TestAssemblies.CompileWithSymbols(source, "/src/Failing.cs", DebugInformationFormat.PortablePdb, embedSource: false);
        PostedCodeRules.ValidateSymbols(null, assembly);
        PostedCodeRules.ValidateSymbols(pdb, assembly);
        PostedCodeRules.ValidateUpload(new PostedCodeUpload(assembly, "with symbols", Symbols: pdb));

        string Refused(byte[] symbols, byte[] of)
        {
            var refused = Assert.Throws<ArgumentException>(() => PostedCodeRules.ValidateUpload(new PostedCodeUpload(of, "bad symbols", Symbols: symbols)));
            Assert.Equal("symbols", refused.ParamName);
            return refused.Message;
        }

        var (_, otherBuilds) = TestAssemblies.CompileWithSymbols(TestAssemblies.FailingSource(), "/src/Failing.cs", DebugInformationFormat.PortablePdb, embedSource: false);
        Assert.Contains("The symbols belong to another build: the PDB's id is", Refused(otherBuilds!, assembly));
        Assert.Contains("The symbols are not a portable PDB", Refused(RandomNumberGenerator.GetBytes(4096), assembly));
        Assert.Contains("The symbols are not a portable PDB", Refused(assembly, assembly));
        Assert.Contains("no CodeView debug directory entry", Refused(pdb!, TestAssemblies.Compile(source, "Failing")));
        Assert.Contains("The symbols are empty", Refused([], assembly));
        Assert.Contains("The symbols are 16777217 bytes; the limit is 16777216 (16 MiB)", Refused(new byte[PostedCodeRules.MaxSymbolsBytes + 1], assembly));
    }

    [Fact]
    public void A_call_travels_as_a_JSON_payload_with_its_args_inline()
    {
        var call = new PostedFunctionCall(PostedCodeRules.HashOf("abc"u8), "Demo.Functions.Square", """{"n": 7}""");
        call.Validate();
        var payload = call.ToPayload();
        using var json = JsonDocument.Parse(payload);
        Assert.Equal(7, json.RootElement.GetProperty("args").GetProperty("n").GetInt32());
        Assert.Equal(call, PostedFunctionCall.FromPayload(payload));
        Assert.Equal(PostedFunctionCall.NoArgs, PostedFunctionCall.FromPayload($$"""{"hash":"{{call.Hash}}","function":"A.B"}""").Args);
        Assert.Contains("not a posted-function call", Assert.Throws<ArgumentException>(() => PostedFunctionCall.FromPayload("""{"function":"A.B"}""")).Message);
        Assert.Contains("not valid JSON", Assert.Throws<ArgumentException>(() => (call with { Args = "{n:" }).Validate()).Message);
    }
}
