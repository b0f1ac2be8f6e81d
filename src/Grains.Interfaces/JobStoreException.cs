namespace Orleans.Jobs.Grains.Interfaces;

/// <summary>
/// The job store failed a call (PostgreSQL unreachable, its pool exhausted, a deadlock that outlasted the store's
/// retries, …). Silos throw this instead of the database driver's exception, which Orleans cannot serialize and whose
/// text belongs in the silo's log, not in a caller's hands. The message names the kind of failure; the silo's log has
/// the details.
/// </summary>
/// <param name="message">What failed, in words a caller can act on.</param>
/// <param name="isTransient">True when the same call may succeed if tried again.</param>
[GenerateSerializer, Alias("jobs.JobStoreException")]
public sealed class JobStoreException(string message, bool isTransient) : Exception(message)
{
    /// <summary>True when the same call may succeed if tried again (a lost connection, a deadlock, an exhausted pool).</summary>
    [Id(0)]
    public bool IsTransient { get; } = isTransient;
}
