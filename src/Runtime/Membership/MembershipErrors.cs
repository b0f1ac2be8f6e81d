namespace Orleans.Jobs.Runtime.Membership;

/// <summary>Errors of the membership table, worded once for every provider.</summary>
public static class MembershipErrors
{
    /// <summary>The error for registering a silo id that an active silo holds.</summary>
    public static InvalidOperationException SiloIdInUse(SiloRecord active) =>
        new($"Silo id '{active.SiloId}' is held by an active silo on node {active.Node} (last heartbeat {active.LastHeartbeat:u}). Silo ids must be unique; if that silo crashed, it is released once it is declared dead.");
}
