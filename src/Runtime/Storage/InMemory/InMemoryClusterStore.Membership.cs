using Orleans.Jobs.Runtime.Membership;

namespace Orleans.Jobs.Runtime.Storage.InMemory;

public sealed partial class InMemoryClusterStore
{
    private readonly Dictionary<string, SiloRecord> _silos = new(StringComparer.Ordinal);

    /// <inheritdoc />
    public Task RegisterSiloAsync(SiloRecord silo, CancellationToken cancellationToken)
    {
        lock (_silos)
        {
            if (_silos.TryGetValue(silo.SiloId, out var existing) && existing.Status == SiloStatus.Active)
                throw MembershipErrors.SiloIdInUse(existing);
            _silos[silo.SiloId] = silo with { Status = SiloStatus.Active };
        }

        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task<bool> HeartbeatAsync(string siloId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        lock (_silos)
        {
            if (!_silos.TryGetValue(siloId, out var silo) || silo.Status != SiloStatus.Active)
                return Task.FromResult(false);
            _silos[siloId] = silo with { LastHeartbeat = now };
            return Task.FromResult(true);
        }
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<SiloRecord>> DeclareDeadSilosAsync(DateTimeOffset heartbeatCutoff, CancellationToken cancellationToken)
    {
        var declared = new List<SiloRecord>();
        lock (_silos)
        {
            foreach (var silo in _silos.Values.Where(s => s.Status == SiloStatus.Active && s.LastHeartbeat < heartbeatCutoff).ToList())
            {
                var dead = silo with { Status = SiloStatus.Dead };
                _silos[silo.SiloId] = dead;
                declared.Add(dead);
            }
        }

        return Task.FromResult<IReadOnlyList<SiloRecord>>(declared);
    }

    /// <inheritdoc />
    public Task MarkSiloStoppedAsync(string siloId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        lock (_silos)
        {
            if (_silos.TryGetValue(siloId, out var silo) && silo.Status == SiloStatus.Active)
                _silos[siloId] = silo with { Status = SiloStatus.Stopped, LastHeartbeat = now };
        }

        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<SiloRecord>> GetSilosAsync(CancellationToken cancellationToken)
    {
        lock (_silos)
            return Task.FromResult<IReadOnlyList<SiloRecord>>(_silos.Values.OrderByDescending(s => s.StartedAt).ToList());
    }
}
