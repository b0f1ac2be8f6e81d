using Microsoft.Extensions.Logging;
using Orleans.Jobs.Storage;
using Orleans.Runtime;

namespace Orleans.Jobs.Silo.Hosting;

/// <summary>
/// Returns a dead silo's monitored jobs the moment Orleans membership declares it dead, instead of waiting for their
/// leases to run out. Every silo watches membership and recovers each newly dead silo once (the store operation is
/// idempotent, so several silos doing it at once is harmless). Claims are owned by a silo incarnation — address and
/// generation — so a silo that restarts never gets its predecessor's jobs back, and a paused silo that was declared
/// dead can neither renew nor finish a job it lost: its lease token no longer matches.
/// </summary>
public sealed partial class DeadSiloJobRecovery(IClusterMembershipService membership, IJobStore store, TimeProvider timeProvider, ILogger<DeadSiloJobRecovery> logger)
    : SiloBackgroundLoop(logger)
{
    private readonly HashSet<SiloAddress> _recovered = [];

    /// <summary>Raised after a dead silo's jobs were returned: the silo and how many came back.</summary>
    public event Action<SiloAddress, int>? Recovered;

    /// <inheritdoc />
    protected override int Stage => ServiceLifecycleStage.Active;

    /// <inheritdoc />
    protected override async Task RunAsync(CancellationToken stoppingToken)
    {
        await foreach (var snapshot in membership.MembershipUpdates.WithCancellation(stoppingToken))
        {
            foreach (var member in snapshot.Members.Values.Where(m => m.Status == SiloStatus.Dead))
            {
                if (_recovered.Contains(member.SiloAddress)) continue;
                try
                {
                    var count = await store.RecoverJobsOfOwnerAsync(member.SiloAddress.ToParsableString(), timeProvider.GetUtcNow(), stoppingToken);
                    _recovered.Add(member.SiloAddress);
                    if (count > 0) LogRecovered(member.SiloAddress.ToString(), count);
                    Recovered?.Invoke(member.SiloAddress, count);
                }
                catch (Exception e) when (!stoppingToken.IsCancellationRequested)
                {
                    LogRecoveryFailed(e, member.SiloAddress.ToString()); // tried again on the next membership update; leases are the backstop
                }
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Silo {Silo} was declared dead: {Count} of its monitored jobs returned to their queues")]
    private partial void LogRecovered(string silo, int count);

    [LoggerMessage(Level = LogLevel.Error, Message = "Could not return the jobs of dead silo {Silo}; their leases will")]
    private partial void LogRecoveryFailed(Exception exception, string silo);
}
