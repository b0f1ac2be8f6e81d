using Orleans.Jobs.Grains.Interfaces.Pipelines;
using Orleans.Runtime;

namespace Orleans.Jobs.Grains.Pipelines;

/// <summary>The persistent state of the worker directory: the workers each silo registered.</summary>
[GenerateSerializer, Alias("jobs.PipelineWorkerDirectoryState")]
public sealed class PipelineWorkerDirectoryState
{
    /// <summary>Worker names by silo address (parsable form, generation included).</summary>
    [Id(0)] public Dictionary<string, List<string>> WorkersBySilo { get; set; } = [];
}

/// <summary>
/// Which pipeline workers the cluster runs. Silos register theirs as they start and again every so often (so the
/// directory refills if its storage was lost); a silo that Orleans membership does not list as active is left out,
/// and dropped at the next registration.
/// </summary>
public sealed class PipelineWorkerDirectoryGrain(
    [PersistentState("pipeline-workers", JobGrainStorage.Name)] IPersistentState<PipelineWorkerDirectoryState> state,
    IClusterMembershipService membership) : Grain, IPipelineWorkerDirectoryGrain
{
    /// <inheritdoc />
    public async Task RegisterAsync(string silo, IReadOnlyList<string> workers)
    {
        ArgumentException.ThrowIfNullOrEmpty(silo);
        ArgumentNullException.ThrowIfNull(workers);
        foreach (var worker in workers) PipelineRules.ValidateWorkerName(worker, nameof(workers));
        var active = ActiveSilos();
        var stale = state.State.WorkersBySilo.Keys.Where(s => s != silo && !active.Contains(s)).ToList();
        var sorted = workers.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        var unchanged = stale.Count == 0 && state.State.WorkersBySilo.TryGetValue(silo, out var known) && known.SequenceEqual(sorted);
        if (unchanged) return;
        foreach (var s in stale) state.State.WorkersBySilo.Remove(s);
        state.State.WorkersBySilo[silo] = sorted;
        await state.WriteStateAsync();
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<string>> GetWorkersAsync()
    {
        var active = ActiveSilos();
        IReadOnlyList<string> workers = [.. state.State.WorkersBySilo
            .Where(e => active.Contains(e.Key))
            .SelectMany(e => e.Value)
            .Distinct(StringComparer.Ordinal)
            .Order(StringComparer.Ordinal)];
        return Task.FromResult(workers);
    }

    private HashSet<string> ActiveSilos() =>
        [.. membership.CurrentSnapshot.Members.Values.Where(m => m.Status == SiloStatus.Active).Select(m => m.SiloAddress.ToParsableString())];
}
