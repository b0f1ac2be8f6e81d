using Orleans.Jobs.Grains.Interfaces.WorkStreams;

namespace Orleans.Jobs.Grains.WorkStreams;

/// <summary>The persistent state of one work stream.</summary>
[GenerateSerializer, Alias("jobs.WorkStreamGrainState")]
public sealed class WorkStreamGrainState
{
    /// <summary>The stages in order; null until opened.</summary>
    [Id(0)] public List<string>? Stages { get; set; }

    /// <summary>The properties now.</summary>
    [Id(1)] public WorkStreamProperties Properties { get; set; } = new();

    /// <summary>When it was first opened.</summary>
    [Id(2)] public DateTimeOffset OpenedAt { get; set; }

    /// <summary>True once closed.</summary>
    [Id(3)] public bool Closed { get; set; }

    /// <summary>Per stage, by name.</summary>
    [Id(4)] public Dictionary<string, StageCounters> Counters { get; set; } = new(StringComparer.Ordinal);

    /// <summary>The last fork or property change: the idle timeout counts from here once nothing is outstanding.</summary>
    [Id(5)] public DateTimeOffset LastActivity { get; set; }

    /// <summary>True while the stream is in the nodes' directory.</summary>
    [Id(6)] public bool Listed { get; set; }
}

/// <summary>One stage's counters.</summary>
[GenerateSerializer, Alias("jobs.WorkStreamStageCounters")]
public sealed class StageCounters
{
    /// <summary>Forks the stage made (the next fork's ordinal).</summary>
    [Id(0)] public long Forked { get; set; }

    /// <summary>Forks made for the stage by earlier stages.</summary>
    [Id(1)] public long Expected { get; set; }

    /// <summary>The last record sequence the client took.</summary>
    [Id(2)] public long Taken { get; set; }

    /// <summary>True once the client finished the stage.</summary>
    [Id(3)] public bool Complete { get; set; }

    /// <summary>Forks the stage had made when the client acknowledged <see cref="Taken"/>: a rerun handles only later records, so its forks number on from here.</summary>
    [Id(4)] public long ForkedWhenTaken { get; set; }
}
