using System.Reflection;
using Orleans.Jobs.Tests.Code;

namespace Orleans.Jobs.Tests.WorkStreams;

/// <summary>
/// The functions the work-stream tests fork, compiled into an assembly of their own and loaded from its file, so a
/// client can post it. Not the test assembly: a silo loads posted code again, in a load context of its own, and a
/// second copy of an assembly holding grains breaks every silo started later in this process (two classes claim
/// each grain type). The probes share only framework types with the test: a <see cref="ForkGate"/> is a delegate in
/// the process's <see cref="AppDomain"/> data.
/// </summary>
public static class ForkProbes
{
    /// <summary><c>Square(int i)</c>: Impetus' <c>pow</c>.</summary>
    public const string SquareFunction = "WorkStreamProbes.Functions.Square";

    /// <summary><c>Hold({gate}, PostedCallContext)</c>: passes the gate named in its args on its silo, and returns that silo.</summary>
    public const string HoldFunction = "WorkStreamProbes.Functions.Hold";

    private const string Source = """
        using System;
        using System.Threading;
        using System.Threading.Tasks;
        using Orleans.Jobs.Grains.Interfaces.Code;

        namespace WorkStreamProbes;

        public static class Functions
        {
            public static int Square(int i) => i * i;

            /// A worker's process: the square and the process id, or the end of the process for 13.
            public static int[] SquareInProcess(int i) => i == 13 ? throw Crash() : [i * i, Environment.ProcessId];

            private static Exception Crash()
            {
                Environment.FailFast("probe: 13 takes its process down");
                return new InvalidOperationException("unreachable");
            }

            public static Task<string> Hold(GateArgs args, PostedCallContext context) =>
                ((Func<string, CancellationToken, Task<string>>)AppDomain.CurrentDomain.GetData(args.Gate)!)(context.SiloId, context.CancellationToken);
        }

        public sealed record GateArgs(string Gate);
        """;

    private static readonly Lazy<Assembly> Compiled = new(() =>
    {
        var path = Path.Combine(AppContext.BaseDirectory, "work-stream-probes", "WorkStreamProbes.dll");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, TestAssemblies.Compile(Source, "WorkStreamProbes"));
        return Assembly.LoadFrom(path);
    });

    /// <summary>The file the probes are posted from.</summary>
    public static string AssemblyPath => Compiled.Value.Location;

    /// <summary>The probes' <c>SquareInProcess</c>: <c>[i * i, process id]</c>, and for 13 <c>Environment.FailFast</c>.</summary>
    public static Func<int, int[]> SquareInProcess => Compiled.Value.GetType("WorkStreamProbes.Functions", throwOnError: true)!.GetMethod("SquareInProcess")!.CreateDelegate<Func<int, int[]>>();

    /// <summary>The probes' <c>Square</c>, for a client to fork.</summary>
    public static Func<int, int> Square => Compiled.Value.GetType("WorkStreamProbes.Functions", throwOnError: true)!.GetMethod("Square")!.CreateDelegate<Func<int, int>>();
}

/// <summary>
/// A gate forked <c>Hold</c> probes wait at until the test opens it, counting per silo how many entered, how many are
/// inside now and the most that were inside at once. Registered in the process's <see cref="AppDomain"/> data as a
/// framework delegate, which the probes — in the silos' load contexts — call as it is.
/// </summary>
public sealed class ForkGate : IDisposable
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, (int Entered, int Inside, int Peak)> _silos = new(StringComparer.Ordinal);
    private readonly TaskCompletionSource _open = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>A closed gate, registered under a fresh name until disposed.</summary>
    public ForkGate()
    {
        Name = $"fork-gate-{Guid.NewGuid():N}";
        AppDomain.CurrentDomain.SetData(Name, new Func<string, CancellationToken, Task<string>>(PassAsync));
    }

    /// <summary>What a <c>Hold</c> probe gets as its args (<c>{"gate": name}</c>).</summary>
    public string Name { get; }

    /// <summary>Every silo a probe entered on.</summary>
    public IReadOnlyList<string> Silos
    {
        get
        {
            lock (_lock) return [.. _silos.Keys];
        }
    }

    /// <summary>Lets every waiting and later probe through.</summary>
    public void Open() => _open.TrySetResult();

    /// <summary>How many probes entered on <paramref name="silo"/>.</summary>
    public int Entered(string silo) => Counts(silo).Entered;

    /// <summary>How many wait inside on <paramref name="silo"/> now.</summary>
    public int Inside(string silo) => Counts(silo).Inside;

    /// <summary>The most that waited inside on <paramref name="silo"/> at once.</summary>
    public int Peak(string silo) => Counts(silo).Peak;

    public void Dispose()
    {
        Open(); // no probe of a failed test waits on
        AppDomain.CurrentDomain.SetData(Name, null);
    }

    private async Task<string> PassAsync(string silo, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            var (entered, inside, peak) = _silos.GetValueOrDefault(silo);
            _silos[silo] = (entered + 1, inside + 1, Math.Max(peak, inside + 1));
        }

        try
        {
            await _open.Task.WaitAsync(cancellationToken);
            return silo;
        }
        finally
        {
            lock (_lock)
            {
                var counts = _silos[silo];
                _silos[silo] = counts with { Inside = counts.Inside - 1 };
            }
        }
    }

    private (int Entered, int Inside, int Peak) Counts(string silo)
    {
        lock (_lock) return _silos.GetValueOrDefault(silo);
    }
}
