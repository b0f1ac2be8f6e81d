namespace Orleans.Jobs.Runtime;

/// <summary>What the runtime gives a grain activation: its id, its silo's services and the store.</summary>
public sealed class GrainContext
{
    internal GrainContext(GrainId grainId, IServiceProvider services, IClusterStore store, TimeProvider timeProvider, string siloId)
    {
        GrainId = grainId;
        Services = services;
        Store = store;
        TimeProvider = timeProvider;
        SiloId = siloId;
    }

    /// <summary>The id of the grain.</summary>
    public GrainId GrainId { get; }

    /// <summary>The services of the silo hosting this activation.</summary>
    public IServiceProvider Services { get; }

    /// <summary>The cluster store.</summary>
    public IClusterStore Store { get; }

    /// <summary>The clock of the silo.</summary>
    public TimeProvider TimeProvider { get; }

    /// <summary>The id of the silo hosting this activation.</summary>
    public string SiloId { get; }
}
