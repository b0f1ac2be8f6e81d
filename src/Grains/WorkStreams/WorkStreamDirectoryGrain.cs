using Orleans.Jobs.Grains.Interfaces.WorkStreams;

namespace Orleans.Jobs.Grains.WorkStreams;

/// <summary>
/// The streams the nodes track. In memory only: a listed stream's grain is brought back by its reminder and lists
/// itself again (<see cref="WorkStreamGrain"/>), so a lost directory refills within a reminder period.
/// </summary>
public sealed class WorkStreamDirectoryGrain : Grain, IWorkStreamDirectoryGrain
{
    private readonly Dictionary<string, ActiveWorkStream> _streams = new(StringComparer.Ordinal);

    /// <inheritdoc />
    public Task AnnounceAsync(ActiveWorkStream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        WorkStreamRules.ValidateStreamId(stream.StreamId);
        WorkStreamRules.Validate(stream.Properties);
        _streams[stream.StreamId] = stream;
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task RetireAsync(string streamId)
    {
        _streams.Remove(streamId);
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<ActiveWorkStream>> ListAsync() => Task.FromResult<IReadOnlyList<ActiveWorkStream>>([.. _streams.Values]);
}
