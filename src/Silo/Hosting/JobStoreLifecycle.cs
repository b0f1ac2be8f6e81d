using Orleans.Jobs.Storage;

namespace Orleans.Jobs.Silo.Hosting;

/// <summary>
/// Starts a job store that needs starting (the PostgreSQL store migrates its schema, Orleans' tables included) before
/// anything else on the silo — before Orleans' ADO.NET membership reads its table — and stops it after everything else.
/// </summary>
internal sealed class JobStoreLifecycle(IJobStoreLifecycle store) : ILifecycleParticipant<ISiloLifecycle>
{
    /// <summary>The stage: just after <see cref="ServiceLifecycleStage.First"/>, so stopping comes last.</summary>
    public const int Stage = ServiceLifecycleStage.First + 1;

    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(JobStoreLifecycle), Stage, store.StartAsync, store.StopAsync);
}
