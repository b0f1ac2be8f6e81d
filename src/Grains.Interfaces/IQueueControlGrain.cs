using Orleans.Concurrency;

namespace Orleans.Jobs.Grains.Interfaces;

/// <summary>
/// The control plane of one queue, keyed by queue name: one activation in the cluster holds the queue's persistent
/// settings and runs its monitor (a grain timer every <see cref="QueueSettings.MonitorPeriod"/> that returns jobs
/// whose lease expired and prunes finished jobs past their retention; a reminder brings the monitor back after its
/// silo dies). Clients and workers use <see cref="IQueueGrain"/>, which calls this grain.
/// </summary>
[Alias("jobs.queue-control")]
public interface IQueueControlGrain : IGrainWithStringKey
{
    /// <summary>Returns the queue's settings (the silo defaults until configured).</summary>
    [Alias("get-settings"), AlwaysInterleave]
    Task<QueueSettings> GetSettingsAsync();

    /// <summary>Validates and stores the queue's settings; the monitor follows a new period at once.</summary>
    /// <exception cref="ArgumentException">A setting is out of range; nothing changed.</exception>
    [Alias("configure")]
    Task ConfigureAsync(QueueSettings settings);

    /// <summary>Applies <paramref name="changes"/> to the stored settings in one turn, so two updates never undo each other; returns the result.</summary>
    /// <exception cref="ArgumentException">A resulting setting is out of range; nothing changed.</exception>
    [Alias("update-settings")]
    Task<QueueSettings> UpdateSettingsAsync(QueueSettingsChanges changes);

    /// <summary>Makes sure the monitor runs (called when the queue gets work); cheap when it already does.</summary>
    [Alias("ensure-monitor")]
    Task EnsureMonitorAsync();

    /// <summary>Runs one monitor pass now: returns expired leases and prunes; returns how many jobs came back.</summary>
    [Alias("recover-expired-leases")]
    Task<int> RecoverExpiredLeasesAsync();
}
