using System.Text.Json;

namespace Orleans.Jobs.Runtime;

/// <summary>
/// A grain with persistent state. The state is reread at the start of every turn, and written with a
/// version check: a write based on a stale version throws <see cref="InconsistentStateException"/>.
/// </summary>
/// <typeparam name="TState">The state type; it must round-trip through System.Text.Json.</typeparam>
public abstract class Grain<TState> : Grain where TState : class, new()
{
    private long _version;

    /// <summary>The state as last read or written.</summary>
    protected TState State { get; set; } = new();

    /// <summary>The stored version of <see cref="State"/>; 0 when nothing is stored.</summary>
    protected long StateVersion => _version;

    /// <summary>Reads the state from the store, replacing <see cref="State"/>.</summary>
    protected async Task ReadStateAsync(CancellationToken cancellationToken = default)
    {
        var stored = await Context.Store.ReadStateAsync(GrainId, cancellationToken);
        if (stored is null)
        {
            State = new TState();
            _version = 0;
        }
        else
        {
            State = JsonSerializer.Deserialize<TState>(stored.Json) ?? new TState();
            _version = stored.Version;
        }
    }

    /// <summary>
    /// Reads the stored state into a new object, leaving <see cref="State"/> alone. Interleaved methods use this:
    /// they run beside turns, and must not replace the state a turn is about to write.
    /// </summary>
    protected async Task<TState> ReadStoredStateAsync(CancellationToken cancellationToken = default)
    {
        var stored = await Context.Store.ReadStateAsync(GrainId, cancellationToken);
        return stored is null ? new TState() : JsonSerializer.Deserialize<TState>(stored.Json) ?? new TState();
    }

    /// <summary>Writes <see cref="State"/> to the store.</summary>
    /// <exception cref="InconsistentStateException">The stored state changed since it was read.</exception>
    protected async Task WriteStateAsync(CancellationToken cancellationToken = default)
    {
        var json = JsonSerializer.Serialize(State);
        _version = await Context.Store.WriteStateAsync(GrainId, json, _version, cancellationToken);
    }

    /// <summary>Deletes the stored state and resets <see cref="State"/> to a new instance.</summary>
    protected async Task ClearStateAsync(CancellationToken cancellationToken = default)
    {
        await Context.Store.ClearStateAsync(GrainId, _version, cancellationToken);
        State = new TState();
        _version = 0;
    }

    internal override async Task OnTurnStartAsync(CancellationToken cancellationToken)
    {
        // Another silo may have written since this activation last looked: a turn always starts from the stored state.
        await ReadStateAsync(cancellationToken);
    }
}
