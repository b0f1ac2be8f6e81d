using Orleans.Concurrency;

namespace Orleans.Jobs.Grains.Interfaces.WorkStreams;

/// <summary>
/// An Impetus stream, named so nobody takes it for an Orleans stream: a priority queue of forks, a data store of their
/// records (one result log per stage), and properties. Keyed by the stream id, which is the client's id: a client that
/// restarts with the same id reattaches and receives the records it has not yet taken. The grain queues forks, tells
/// the nodes the stream is active, returns records in order, and keeps per-stage progress in Orleans grain state.
/// </summary>
[Alias("jobs.work-stream")]
public interface IWorkStreamGrain : IGrainWithStringKey
{
    /// <summary>
    /// Opens the stream, or reattaches to it when it exists with the same stages (its properties then stay as they
    /// are: change them with <see cref="UpdatePropertiesAsync"/>).
    /// </summary>
    /// <exception cref="ArgumentException">The id, a stage or a property breaks a rule, or the stream exists with other stages; nothing changed.</exception>
    [Alias("open")]
    Task<WorkStreamInfo> OpenAsync(WorkStreamDefinition definition);

    /// <summary>Changes the properties <paramref name="changes"/> names; the others stay. Returns the properties now.</summary>
    /// <exception cref="ArgumentException">A value is out of its range (the message names the property and the range); nothing changed.</exception>
    /// <exception cref="InvalidOperationException">The stream was never opened.</exception>
    [Alias("update-properties")]
    Task<WorkStreamProperties> UpdatePropertiesAsync(WorkStreamPropertyChanges changes);

    /// <summary>The stream; null when it was never opened.</summary>
    [Alias("get-info"), ReadOnly, AlwaysInterleave]
    Task<WorkStreamInfo?> GetInfoAsync();

    /// <summary>
    /// Queues forks made by <paramref name="stage"/>, the <paramref name="firstOrdinal"/>th onwards (from 0, in the
    /// order the stage made them). Forks the stage already made under those ordinals are skipped, so a stage run again
    /// after a client restart does not fork twice.
    /// </summary>
    /// <exception cref="ArgumentException">A fork breaks a rule (unknown or earlier callback stage, bad hash or function, args not JSON, delay or priority out of range), or the ordinals leave a gap; nothing was queued.</exception>
    /// <exception cref="InvalidOperationException">The stream is not open, or the stage is complete.</exception>
    [Alias("fork")]
    Task<ForkReceipt> ForkAsync(string stage, long firstOrdinal, IReadOnlyList<ForkRequest> forks);

    /// <summary>
    /// Marks <paramref name="stage"/> complete: it forks no more, and its records up to <paramref name="taken"/> were
    /// handled. The next stage's input is closed once every earlier stage is complete.
    /// </summary>
    /// <exception cref="ArgumentException">Unknown stage.</exception>
    [Alias("complete-stage")]
    Task CompleteStageAsync(string stage, long taken);

    /// <summary>Records that the client handled <paramref name="stage"/>'s records up to <paramref name="taken"/>: a reattaching client resumes after it.</summary>
    [Alias("acknowledge")]
    Task AcknowledgeAsync(string stage, long taken);

    /// <summary>
    /// Returns up to <paramref name="max"/> records of <paramref name="stage"/> after sequence <paramref name="after"/>,
    /// waiting up to <paramref name="wait"/> for one when none has arrived and more are expected.
    /// </summary>
    [Alias("read-results"), ReadOnly, AlwaysInterleave, ResponseTimeout(QueueLimits.WaitResponseTimeout)]
    Task<ForkResultPage> ReadResultsAsync(string stage, long after, int max, TimeSpan wait);

    /// <summary>Each stage's progress.</summary>
    [Alias("get-progress"), ReadOnly, AlwaysInterleave]
    Task<WorkStreamProgress> GetProgressAsync();

    /// <summary>Closes the stream: no more forks; the nodes stop tracking it.</summary>
    [Alias("close")]
    Task CloseAsync();
}

/// <summary>
/// The open streams the nodes track (Impetus' Queue's list of streams). Keyed by 0. Streams add themselves when they
/// get forks and leave once idle past their <see cref="WorkStreamProperties.IdleTimeout"/> or closed.
/// </summary>
[Alias("jobs.work-stream-directory")]
public interface IWorkStreamDirectoryGrain : IGrainWithIntegerKey
{
    /// <summary>Lists the stream, or updates its properties.</summary>
    [Alias("announce")]
    Task AnnounceAsync(ActiveWorkStream stream);

    /// <summary>Drops the stream from the list.</summary>
    [Alias("retire")]
    Task RetireAsync(string streamId);

    /// <summary>The streams listed now.</summary>
    [Alias("list"), ReadOnly, AlwaysInterleave]
    Task<IReadOnlyList<ActiveWorkStream>> ListAsync();
}
