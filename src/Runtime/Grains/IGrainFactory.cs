namespace Orleans.Jobs.Runtime;

/// <summary>Creates references to grains. A reference is cheap: the grain itself always exists.</summary>
public interface IGrainFactory
{
    /// <summary>Returns a typed reference to the grain of interface <typeparamref name="TGrainInterface"/> with the given key.</summary>
    /// <exception cref="ArgumentException">The key is not a valid grain key.</exception>
    TGrainInterface GetGrain<TGrainInterface>(string primaryKey) where TGrainInterface : IGrainWithStringKey;
}

/// <summary>A client of an Orleans.Jobs cluster: a grain factory connected to one or more silos.</summary>
public interface IClusterClient : IGrainFactory
{
    /// <summary>Checks that the cluster can be reached and accepts this client's credentials.</summary>
    Task ConnectAsync(CancellationToken cancellationToken = default);
}
