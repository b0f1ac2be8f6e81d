namespace Orleans.Jobs.ClusterProcess;

/// <summary>The jobset-worker processes of the jobset proof.</summary>
public static class JobSetWorker
{
    /// <summary>Jobs each process runs at once.</summary>
    public const int Concurrency = 4;
}
