namespace Orleans.Jobs.Grains.Interfaces.WorkStreams;

/// <summary>How a work stream's forks run in a silo.</summary>
public enum WorkerIsolation
{
    /// <summary>Workers run in the silo's process (the default: no process start per worker).</summary>
    InSilo = 0,

    /// <summary>Each worker is a child process of the silo: a crash or leak in job code never takes the silo down.</summary>
    Process = 1,
}

/// <summary>
/// The properties of a work stream (Impetus' stream properties). Set when the stream is opened, changed later with
/// <see cref="WorkStreamPropertyChanges"/>; every value is checked against its range (<see cref="WorkStreamRules"/>).
/// </summary>
[GenerateSerializer, Immutable, Alias("jobs.WorkStreamProperties")]
public sealed record WorkStreamProperties
{
    /// <summary>How many workers per second each node starts for the stream while it has work, until the cap (Impetus' frequency).</summary>
    [Id(0)] public double SpawnFrequency { get; init; } = 10;

    /// <summary>The most workers one node runs for the stream at once (Impetus' <c>mpps</c>).</summary>
    [Id(1)] public int MaxWorkersPerNode { get; init; } = 5;

    /// <summary>How long a fork waits before it may run, unless the fork says otherwise.</summary>
    [Id(2)] public TimeSpan JobDelay { get; init; } = TimeSpan.Zero;

    /// <summary>The priority of forks that give none; higher runs first.</summary>
    [Id(3)] public int JobPriority { get; init; }

    /// <summary>How long a stream with nothing to run stays tracked by the nodes.</summary>
    [Id(4)] public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Where workers run: in the silo (default) or as child processes.</summary>
    [Id(5)] public WorkerIsolation Isolation { get; init; } = WorkerIsolation.InSilo;

    /// <summary>
    /// Runs a fork may get when its worker dies (its silo or its child process crashed). A fork whose function throws
    /// is not retried: its error record goes to its callback stage at once, as in Impetus.
    /// </summary>
    [Id(6)] public int MaxAttempts { get; init; } = 3;

    /// <summary>Applies <paramref name="changes"/>: only the properties they name change.</summary>
    public WorkStreamProperties With(WorkStreamPropertyChanges changes)
    {
        ArgumentNullException.ThrowIfNull(changes);
        return new WorkStreamProperties
        {
            SpawnFrequency = changes.SpawnFrequency ?? SpawnFrequency,
            MaxWorkersPerNode = changes.MaxWorkersPerNode ?? MaxWorkersPerNode,
            JobDelay = changes.JobDelay ?? JobDelay,
            JobPriority = changes.JobPriority ?? JobPriority,
            IdleTimeout = changes.IdleTimeout ?? IdleTimeout,
            Isolation = changes.Isolation ?? Isolation,
            MaxAttempts = changes.MaxAttempts ?? MaxAttempts,
        };
    }
}

/// <summary>A change of some properties of a stream: null leaves a property as it is.</summary>
[GenerateSerializer, Immutable, Alias("jobs.WorkStreamPropertyChanges")]
public sealed record WorkStreamPropertyChanges
{
    /// <inheritdoc cref="WorkStreamProperties.SpawnFrequency"/>
    [Id(0)] public double? SpawnFrequency { get; init; }

    /// <inheritdoc cref="WorkStreamProperties.MaxWorkersPerNode"/>
    [Id(1)] public int? MaxWorkersPerNode { get; init; }

    /// <inheritdoc cref="WorkStreamProperties.JobDelay"/>
    [Id(2)] public TimeSpan? JobDelay { get; init; }

    /// <inheritdoc cref="WorkStreamProperties.JobPriority"/>
    [Id(3)] public int? JobPriority { get; init; }

    /// <inheritdoc cref="WorkStreamProperties.IdleTimeout"/>
    [Id(4)] public TimeSpan? IdleTimeout { get; init; }

    /// <inheritdoc cref="WorkStreamProperties.Isolation"/>
    [Id(5)] public WorkerIsolation? Isolation { get; init; }

    /// <inheritdoc cref="WorkStreamProperties.MaxAttempts"/>
    [Id(6)] public int? MaxAttempts { get; init; }
}
