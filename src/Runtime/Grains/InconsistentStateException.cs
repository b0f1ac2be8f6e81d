namespace Orleans.Jobs.Runtime;

/// <summary>
/// Thrown when grain state is written against a version that is no longer the stored one:
/// somebody else wrote it first. The write did not happen; reread the state and retry.
/// </summary>
public sealed class InconsistentStateException : InvalidOperationException
{
    /// <summary>Creates the exception for a stale write.</summary>
    public InconsistentStateException(GrainId grain, long expectedVersion, long storedVersion)
        : base($"Stale write to the state of grain {grain}: expected version {expectedVersion}, but the stored version is {storedVersion}. Another writer changed it; reread the state and retry.")
    {
        Grain = grain;
        ExpectedVersion = expectedVersion;
        StoredVersion = storedVersion;
    }

    /// <summary>The grain whose state was written.</summary>
    public GrainId Grain { get; }

    /// <summary>The version the writer based its change on.</summary>
    public long ExpectedVersion { get; }

    /// <summary>The version actually stored (0 when there is none).</summary>
    public long StoredVersion { get; }
}
