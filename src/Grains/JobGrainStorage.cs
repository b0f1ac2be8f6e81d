namespace Orleans.Jobs.Grains;

/// <summary>The Orleans grain storage the grains of Orleans.Jobs keep their state in.</summary>
public static class JobGrainStorage
{
    /// <summary>
    /// The storage provider's name. The silo registers it: memory storage on the embedded default, ADO.NET
    /// (PostgreSQL) when the job store is PostgreSQL.
    /// </summary>
    public const string Name = "OrleansJobs";
}
