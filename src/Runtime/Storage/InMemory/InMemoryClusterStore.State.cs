namespace Orleans.Jobs.Runtime.Storage.InMemory;

public sealed partial class InMemoryClusterStore
{
    private readonly Dictionary<GrainId, StoredGrainState> _states = [];

    /// <inheritdoc />
    public Task<StoredGrainState?> ReadStateAsync(GrainId grain, CancellationToken cancellationToken)
    {
        lock (_states)
            return Task.FromResult(_states.GetValueOrDefault(grain));
    }

    /// <inheritdoc />
    public Task<long> WriteStateAsync(GrainId grain, string json, long expectedVersion, CancellationToken cancellationToken)
    {
        lock (_states)
        {
            var stored = _states.GetValueOrDefault(grain)?.Version ?? 0;
            if (stored != expectedVersion)
                throw new InconsistentStateException(grain, expectedVersion, stored);
            _states[grain] = new StoredGrainState(json, stored + 1);
            return Task.FromResult(stored + 1);
        }
    }

    /// <inheritdoc />
    public Task ClearStateAsync(GrainId grain, long expectedVersion, CancellationToken cancellationToken)
    {
        lock (_states)
        {
            var stored = _states.GetValueOrDefault(grain)?.Version ?? 0;
            if (stored != expectedVersion)
                throw new InconsistentStateException(grain, expectedVersion, stored);
            _states.Remove(grain);
            return Task.CompletedTask;
        }
    }
}
