using System.Collections.Concurrent;
using System.Reflection;
using System.Runtime.Loader;
using System.Text.Json;
using Orleans.Jobs.Grains.Interfaces.Code;

namespace Orleans.Jobs.Grains.Code;

/// <summary>
/// One version of posted code loaded on this silo, in its own collectible <see cref="AssemblyLoadContext"/>. Every
/// assembly it references resolves from the default context, so it shares the framework's and Orleans.Jobs' types
/// with the silo (a function may take a <see cref="PostedCallContext"/>). Calls are counted: once the version is
/// retired (removed, or idle) the context is unloaded when the last running call ends, and no call starts after.
/// </summary>
internal sealed class LoadedCode
{
    private readonly Lock _gate = new();
    private readonly ConcurrentDictionary<string, PostedFunction> _functions = new(StringComparer.Ordinal);
    // Per version, so no serializer cache outside it keeps the posted types (and the context) alive.
    private readonly JsonSerializerOptions _json = new(JsonSerializerDefaults.Web);
    private readonly AssemblyLoadContext _context;
    private readonly Assembly _assembly;
    private readonly PostedCodeSymbols _symbols;
    private int _running;
    private bool _retired;

    private LoadedCode(string hash, AssemblyLoadContext context, Assembly assembly, PostedCodeSymbols symbols, DateTimeOffset now)
    {
        Hash = hash;
        _context = context;
        _assembly = assembly;
        _symbols = symbols;
        LastUsed = now;
    }

    public string Hash { get; }

    /// <summary>When a call last started or ended.</summary>
    public DateTimeOffset LastUsed { get; private set; }

    /// <summary>Calls running now.</summary>
    public int Running
    {
        get { lock (_gate) return _running; }
    }

    /// <summary>
    /// Loads <paramref name="code"/> into a new collectible context named after its hash, with its symbols (posted, or
    /// embedded in the assembly) so the frames of its exceptions carry lines.
    /// </summary>
    public static LoadedCode Load(string hash, PostedAssembly code, DateTimeOffset now)
    {
        var context = new PostedCodeLoadContext(hash);
        try
        {
            var symbols = PostedCodeSymbols.Of(code.Assembly, code.Symbols);
            using var image = new MemoryStream(code.Assembly, writable: false);
            using var pdb = symbols.Pdb is { } bytes ? new MemoryStream(bytes, writable: false) : null;
            return new LoadedCode(hash, context, context.LoadFromStream(image, pdb), symbols, now);
        }
        catch (BadImageFormatException e)
        {
            context.Unload();
            throw new PostedCodeException($"Posted code {hash[..12]} cannot be loaded: {e.Message}");
        }
    }

    /// <summary>A weak reference to the load context, to watch it being collected.</summary>
    public WeakReference WatchContext() => new(_context);

    /// <summary>Counts a call in; false once retired (load the version again).</summary>
    public bool TryEnter(DateTimeOffset now)
    {
        lock (_gate)
        {
            if (_retired) return false;
            _running++;
            LastUsed = now;
            return true;
        }
    }

    /// <summary>Counts a call out, unloading the context when it was the last call of a retired version.</summary>
    public void Exit(DateTimeOffset now)
    {
        bool unload;
        lock (_gate)
        {
            _running--;
            LastUsed = now;
            unload = _retired && _running == 0;
        }

        if (unload) _context.Unload();
    }

    /// <summary>
    /// Retires the version — or, given <paramref name="idleSince"/>, only when no call is running and none ran since
    /// then: no call starts after, and the context unloads now or when the last running call ends. False when it
    /// was not retired (already retired, or not idle).
    /// </summary>
    public bool Retire(DateTimeOffset? idleSince = null)
    {
        bool unload;
        lock (_gate)
        {
            if (_retired || (idleSince is { } since && (_running > 0 || LastUsed >= since))) return false;
            _retired = true;
            unload = _running == 0;
        }

        if (unload) _context.Unload();
        return true;
    }

    /// <summary>Runs <c>function</c> with <paramref name="args"/>; counted in by the caller.</summary>
    /// <exception cref="PostedCodeException">The function is unknown, has an unsupported signature, or threw.</exception>
    public Task<string?> InvokeAsync(string args, PostedCallContext context, bool resultAsJson = false) =>
        _functions.GetOrAdd(context.Function, static (name, code) => PostedFunction.Resolve(code._assembly, name, code.Hash, code._symbols, code._json), this)
            .InvokeAsync(args, context, _json, resultAsJson);

    /// <summary>Resolves every reference from the default context: posted code is one assembly over what the silo has.</summary>
    private sealed class PostedCodeLoadContext(string hash) : AssemblyLoadContext($"posted-code:{hash}", isCollectible: true)
    {
        protected override Assembly? Load(AssemblyName assemblyName) => null;
    }
}
