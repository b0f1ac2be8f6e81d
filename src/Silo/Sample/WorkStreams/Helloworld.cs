using Orleans.Jobs.Client.WorkStreams;
using Orleans.Jobs.Grains.Interfaces.WorkStreams;

namespace Orleans.Jobs.Silo.Sample.WorkStreams;

/// <summary>
/// Impetus' helloworld as a work stream: the startup stage forks <see cref="Pow"/> for 0..99, <c>stage1</c> sums the
/// results (<c>Total: 328350</c>, <c>Errors: 0</c>), and shutdown prints the progress. The forked functions are public
/// static methods: they travel to the silos as posted code (this assembly, by hash), as Impetus marshals <c>pow</c>.
/// </summary>
public static class Helloworld
{
    /// <summary>The forked function (Impetus' <c>@Client.node def pow(i)</c>).</summary>
    public static int Pow(int i) => i * i;

    /// <summary>A forked function that throws when <c>I</c> is a multiple of <c>Every</c>: its record lands in <c>errors</c> with the line it threw on.</summary>
    public static int PowUnlessMultiple(FragileArgs args)
    {
        ArgumentNullException.ThrowIfNull(args);
        if (args.I % args.Every == 0) throw new InvalidOperationException($"{args.I} is a multiple of {args.Every}");
        return args.I * args.I;
    }

    /// <summary>The arguments of <see cref="PowUnlessMultiple"/>.</summary>
    public sealed record FragileArgs(int I, int Every);

    /// <summary>What one helloworld run printed and counted.</summary>
    public sealed record Outcome(long Total, int Ready, IReadOnlyList<ForkRecord> Errors, WorkStreamRunSummary Summary);

    /// <summary>
    /// Runs helloworld on <paramref name="grains"/>; with <paramref name="failEvery"/> the forks of multiples of it
    /// throw and reach <c>stage1</c> as errors.
    /// </summary>
    public static async Task<Outcome> RunAsync(IGrainFactory grains, string clusterKey, TextWriter output, WorkStreamClientOptions? options = null, int? failEvery = null, CancellationToken cancellationToken = default)
    {
        options ??= new WorkStreamClientOptions();
        options.Log ??= output;
        long total = 0;
        var ready = 0;
        IReadOnlyList<ForkRecord> errors = [];
        var client = new WorkStreamClient(grains, clusterKey, options)
            .Startup("start", async stage =>
            {
                for (var i = 0; i < 100; i++)
                {
                    if (failEvery is { } every) await stage.ForkAsync(PowUnlessMultiple, new FragileArgs(i, every), options: new ForkOptions { Name = "pow" });
                    else await stage.ForkAsync(Pow, i);
                }
            })
            .Process("stage1", (stage, readyRecords, errorRecords) =>
            {
                total = readyRecords.Sum(r => (long)r.ResultAs<int>());
                (ready, errors) = (readyRecords.Count, errorRecords);
                output.WriteLine($"Total: {total}");
                output.WriteLine($"Errors: {errorRecords.Count}");
                return Task.CompletedTask;
            })
            .Shutdown((_, _, progress) =>
            {
                output.WriteLine("shutting down");
                return Task.CompletedTask;
            });
        var summary = await client.RunAsync(cancellationToken);
        return new Outcome(total, ready, errors, summary);
    }
}
