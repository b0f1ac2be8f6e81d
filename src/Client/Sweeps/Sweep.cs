using System.Text.Json;
using Orleans.Jobs.Grains.Interfaces.Sweeps;

namespace Orleans.Jobs.Client.Sweeps;

/// <summary>
/// Parameter sweeps (JobMon's postsweep, post2Dsweep): every parameter set of a grid becomes a job of
/// <c>queue</c> whose payload is the set as a JSON object; sets posted before — by anyone, in any posting — are not
/// run again. Experiments are keyed <c>jobhash|paramhash</c> as in JobMon.
/// </summary>
/// <example>
/// <code>
/// var posting = await Sweep.PostAsync(client, "train", new SweepGrid().Values("lr", 0.1, 0.01, 0.001).Range("layers", 1, 4),
///     ground: new { accuracy = 0.93 }, description: "learning rate x depth");
/// foreach (var e in await Sweep.GetResultsAsync(client, "train")) Console.WriteLine($"{e.Parameters} -> {e.Result}");
/// </code>
/// </example>
public static class Sweep
{
    /// <summary>Posts every parameter set of <paramref name="grid"/> not posted before.</summary>
    /// <param name="grains">An Orleans client or any grain factory.</param>
    /// <param name="queue">The queue whose handler runs one parameter set (it reads the payload as its parameters).</param>
    /// <param name="grid">The parameters.</param>
    /// <param name="ground">Ground truth kept with each experiment this posting adds (JobMon's experiments:ground); JSON-serialisable to an object.</param>
    /// <param name="description">What this posting is.</param>
    /// <exception cref="ArgumentException">The grid is empty, or something breaks a rule; nothing was posted.</exception>
    public static Task<SweepPosting> PostAsync(IGrainFactory grains, string queue, SweepGrid grid, object? ground = null, string? description = null)
    {
        ArgumentNullException.ThrowIfNull(grid);
        if (grid.Count == 0) throw new ArgumentException("The grid has no axes: add parameters with Values, Range or Linear.", nameof(grid));
        string? groundJson = null;
        if (ground is not null)
        {
            try
            {
                groundJson = JsonSerializer.Serialize(ground, JsonSerializerOptions.Web);
            }
            catch (Exception e) when (e is NotSupportedException or JsonException or ArgumentException or InvalidOperationException)
            {
                throw new ArgumentException($"The ground truth ({ground.GetType().Name}) is not JSON-serialisable: {e.Message}", nameof(ground), e);
            }
        }

        return grains.GetGrain<ISweepGrain>(queue).PostAsync([.. grid.ParameterSets()], groundJson, description);
    }

    /// <summary>Every experiment of <paramref name="queue"/>'s sweeps with its parameters, submit time, state, result and ground truth.</summary>
    public static Task<IReadOnlyList<SweepExperiment>> GetResultsAsync(IGrainFactory grains, string queue) =>
        grains.GetGrain<ISweepGrain>(queue).GetExperimentsAsync();
}
