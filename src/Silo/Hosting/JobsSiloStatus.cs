using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Jobs.Silo.Workers;
using Orleans.Jobs.Storage;
using Orleans.Jobs.Storage.PostgreSql;

namespace Orleans.Jobs.Silo.Hosting;

/// <summary>What a running silo reports about itself: the store and settings it actually uses (for status pages and tests).</summary>
public sealed class JobsSiloStatus(
    IJobStore store,
    IOptions<JobsSiloOptions> silo,
    IOptions<ClusterOptions> cluster,
    IOptions<WorkerOptions> workers,
    ILocalSiloDetails details,
    IMembershipTable membership)
{
    /// <summary>The job store's provider: "in-memory" or "postgresql".</summary>
    public string Store => store.ProviderName;

    /// <summary>The PostgreSQL schema, or null on the in-memory store.</summary>
    public string? Schema => (store as PostgresJobStore)?.Options.Schema;

    /// <summary>This silo's node.</summary>
    public string Node => silo.Value.Node;

    /// <summary>Orleans' cluster id.</summary>
    public string ClusterId => cluster.Value.ClusterId;

    /// <summary>Orleans' service id.</summary>
    public string ServiceId => cluster.Value.ServiceId;

    /// <summary>This silo's address.</summary>
    public string Address => details.SiloAddress.ToString();

    /// <summary>The worker options in force.</summary>
    public WorkerOptions Workers => workers.Value;

    /// <summary>The Orleans membership table's type, which tells the clustering in use.</summary>
    public string MembershipTable => membership.GetType().Name;
}
