using Orleans.Jobs.Grains.Code;
using Orleans.Jobs.Grains.Interfaces.Code;

namespace Orleans.Jobs.CodeHost;

/// <summary>
/// Runs posted functions for a silo, in this process: reads <see cref="CodeHostRequest"/> lines, runs each call on the
/// thread pool (calls overlap), and writes one <see cref="CodeHostReply"/> line per call. Each hash is loaded once, in
/// its own collectible load context, and stays loaded for the process's life: the silo starts a new host to shed it.
/// </summary>
internal sealed class PostedCodeHost(TextWriter protocol, TextWriter log)
{
    private readonly Lock _writing = new();
    private readonly Lock _loading = new();
    private readonly Dictionary<string, LoadedCode> _loaded = new(StringComparer.Ordinal);

    /// <summary>Serves requests until <paramref name="requests"/> ends.</summary>
    public async Task RunAsync(TextReader requests)
    {
        Log("ready");
        Send(CodeHostReply.Ready);
        while (await requests.ReadLineAsync() is { } line)
        {
            if (CodeHostProtocol.FromLine<CodeHostRequest>(line) is { Id: > 0 } request)
                _ = Task.Run(() => RunAsync(request));
            else
                Log($"ignored a line of {line.Length} characters that is not a request");
        }

        Log("stdin closed: exiting");
    }

    private async Task RunAsync(CodeHostRequest request)
    {
        CodeHostReply reply;
        try
        {
            var call = new PostedFunctionCall(request.Hash, request.Function, request.Args);
            call.Validate();
            var context = new PostedCallContext
            {
                Hash = call.Hash,
                Function = call.Function,
                SiloId = request.SiloId,
                JobId = request.JobId,
                Attempt = request.Attempt,
            };
            reply = new CodeHostReply(request.Id, Result: await Load(request).InvokeAsync(call.Args, context, request.ResultAsJson));
        }
        catch (PostedCodeException e)
        {
            reply = new CodeHostReply(request.Id, Failure: e.Message, Error: e.Error);
        }
        catch (Exception e)
        {
            reply = new CodeHostReply(request.Id, Failure: $"The code host could not run {request.Function} of posted code {request.Hash}: {e.GetType().Name}: {e.Message}");
        }

        Send(reply);
    }

    private LoadedCode Load(CodeHostRequest request)
    {
        lock (_loading)
        {
            if (_loaded.TryGetValue(request.Hash, out var code)) return code;
            var assembly = File.ReadAllBytes(request.AssemblyPath);
            if (PostedCodeRules.HashOf(assembly) != request.Hash)
                throw new PostedCodeException($"The file {request.AssemblyPath} does not hold posted code {request.Hash} (its SHA-256 differs): refusing to load it.");
            var symbols = request.SymbolsPath is { } path ? File.ReadAllBytes(path) : null;
            code = LoadedCode.Load(request.Hash, new PostedAssembly(assembly, symbols), DateTimeOffset.UtcNow);
            _loaded.Add(request.Hash, code);
            Log($"loaded posted code {request.Hash} ({assembly.Length} bytes, symbols {symbols?.Length ?? 0} bytes)");
            return code;
        }
    }

    private void Send(CodeHostReply reply)
    {
        try
        {
            lock (_writing)
            {
                protocol.WriteLine(CodeHostProtocol.ToLine(reply));
                protocol.Flush();
            }
        }
        catch (IOException)
        {
            Environment.Exit(0); // stdout is closed: the silo is gone, nobody reads replies
        }
    }

    private void Log(string message) => log.WriteLine($"[code host {Environment.ProcessId}] {message}");
}
