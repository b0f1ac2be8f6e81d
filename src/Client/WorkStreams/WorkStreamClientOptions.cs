using Orleans.Jobs.Grains.Interfaces;
using Orleans.Jobs.Grains.Interfaces.WorkStreams;

namespace Orleans.Jobs.Client.WorkStreams;

/// <summary>How a <see cref="WorkStreamClient"/> runs.</summary>
public sealed class WorkStreamClientOptions
{
    /// <summary>The client's id, which is its stream's id (Impetus' <c>My Id</c>). Give the id of an earlier run to reattach to its stream; null for a new GUID.</summary>
    public string? Id { get; set; }

    /// <summary>The stream's properties when this run creates it (a reattaching run keeps the stream's).</summary>
    public WorkStreamProperties Properties { get; set; } = new();

    /// <summary>
    /// Where each stage's records are exported as JSON lines, <c>&lt;dir&gt;/&lt;id&gt;/&lt;stage&gt;.ok</c> and
    /// <c>.err</c> (Impetus' task directory); null to export nothing.
    /// </summary>
    public string? TaskDirectory { get; set; }

    /// <summary>
    /// Null (the default, as Impetus): a process stage is called once, with every record it gets. A number: it is
    /// called with batches of at most that many records as they arrive, each acknowledged once handled.
    /// </summary>
    public int? StageBatchSize { get; set; }

    /// <summary>How long a stage waits without a new record before giving up with a <see cref="TimeoutException"/> (the forks may still run).</summary>
    public TimeSpan StallTimeout { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Where progress lines go (Impetus' <c>thread: …</c> lines); null for the console, <see cref="TextWriter.Null"/> for none.</summary>
    public TextWriter? Log { get; set; }

    /// <summary>Checks every option.</summary>
    /// <exception cref="ArgumentException">One breaks its rule; the message names it.</exception>
    public void Validate()
    {
        if (Id is not null) WorkStreamRules.ValidateStreamId(Id, nameof(Id));
        WorkStreamRules.Validate(Properties, nameof(Properties));
        if (StageBatchSize is { } batch) QueueLimits.CheckRange(batch, 1, 10_000, nameof(StageBatchSize));
        QueueLimits.CheckRange(StallTimeout, TimeSpan.FromSeconds(1), TimeSpan.FromDays(7), nameof(StallTimeout));
        if (TaskDirectory is { Length: 0 }) throw new ArgumentException("TaskDirectory is empty: give a directory, or null to export nothing.", nameof(TaskDirectory));
    }
}

/// <summary>How one run of a <see cref="WorkStreamClient"/> ended.</summary>
/// <param name="Id">The client's (and stream's) id.</param>
/// <param name="Reattached">True when the run reattached to an existing stream.</param>
/// <param name="Progress">Each stage's final counts.</param>
/// <param name="Ready">Records with results, over all process stages of this run.</param>
/// <param name="Errors">Error records, over all process stages of this run.</param>
public sealed record WorkStreamRunSummary(string Id, bool Reattached, WorkStreamProgress Progress, long Ready, long Errors);
