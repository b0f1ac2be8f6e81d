namespace Orleans.Jobs.Runtime.Membership;

/// <summary>The life of a silo in the membership table.</summary>
public enum SiloStatus
{
    /// <summary>Running and heartbeating.</summary>
    Active = 0,

    /// <summary>Shut down gracefully.</summary>
    Stopped = 1,

    /// <summary>Stopped heartbeating and was declared dead; its work was recovered.</summary>
    Dead = 2,
}

/// <summary>A row of the membership table.</summary>
/// <param name="SiloId">Unique id of the silo process.</param>
/// <param name="Node">The node (host) it runs on.</param>
/// <param name="Gateway">The address of its gateway, if it serves one.</param>
/// <param name="Status">Its status.</param>
/// <param name="StartedAt">When it registered.</param>
/// <param name="LastHeartbeat">When it last heartbeated.</param>
public sealed record SiloRecord(string SiloId, string Node, string? Gateway, SiloStatus Status, DateTimeOffset StartedAt, DateTimeOffset LastHeartbeat);
