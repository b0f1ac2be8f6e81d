namespace Orleans.Jobs.Client.Queues;

/// <summary>Options of a <see cref="Marble"/>.</summary>
public sealed class MarbleOptions
{
    /// <summary>Default of <see cref="WaitTimeout"/>.</summary>
    public static readonly TimeSpan DefaultWaitTimeout = TimeSpan.FromSeconds(30);

    /// <summary>Monitored claims (the default) are redone if this process dies or hangs; unmonitored ones are not.</summary>
    public bool Monitored { get; set; } = true;

    /// <summary>The lease of monitored claims; null uses the queue's setting.</summary>
    public TimeSpan? LeaseDuration { get; set; }

    /// <summary>How long <see cref="Marble.WaitAsync"/> blocks when no timeout is given.</summary>
    public TimeSpan WaitTimeout { get; set; } = DefaultWaitTimeout;

    /// <summary>The owner recorded on claimed jobs. Defaults to "marble-" and a new GUID.</summary>
    public string Owner { get; set; } = $"marble-{Guid.NewGuid():N}";

    /// <summary>The node this Marble runs on: the source of elevations, and the node whose local queues it may claim. Defaults to the machine name.</summary>
    public string Node { get; set; } = Environment.MachineName;

    /// <summary>The clock used for lease heartbeats.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;
}
