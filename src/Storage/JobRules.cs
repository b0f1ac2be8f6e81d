namespace Orleans.Jobs.Storage;

/// <summary>Rules every store provider applies the same way, kept in one place.</summary>
public static class JobRules
{
    /// <summary>Why a monitored job came back after its lease ran out.</summary>
    public const string LeaseExpiredReason = "its lease expired: the worker died, hung or stopped heartbeating";

    /// <summary>
    /// The claim position of a job within its priority: back-of-queue jobs sort by when they become visible, front
    /// (expedited) jobs by the reverse, so the newest expedite leads.
    /// </summary>
    public static long Position(bool front, DateTimeOffset visibleAt) => front ? -visibleAt.UtcTicks : visibleAt.UtcTicks;

    /// <summary>Why a monitored job came back after its owner (a silo) was declared dead.</summary>
    public static string OwnerDiedReason(string owner) => $"its worker's silo {owner} was declared dead";

    /// <summary>The error recorded on a job whose attempt was lost.</summary>
    public static string LostAttempt(int attempt, int maxAttempts, string reason) => $"Attempt {attempt} of {maxAttempts} was lost: {reason}.";
}
