using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Jobs.Runtime.Hosting;

namespace Orleans.Jobs.Runtime.Membership;

/// <summary>
/// Keeps this silo in the membership table: registers it, heartbeats, declares silos that stopped heartbeating
/// dead and recovers their monitored jobs at once. A silo that finds itself declared dead (it was paused, or lost
/// the store for longer than <see cref="MembershipOptions.DeathTimeout"/>) ends its incarnation — its running jobs
/// stop without reporting, as they were given to others — and rejoins. That is safe because grains keep no
/// authoritative state in memory and every change to a claimed job checks its lease token.
/// </summary>
public sealed partial class MembershipService(
    IClusterStore store,
    TimeProvider timeProvider,
    SiloLifetime lifetime,
    IOptions<SiloOptions> siloOptions,
    IOptions<MembershipOptions> options,
    ILogger<MembershipService> logger) : SiloBackgroundService(lifetime)
{
    private readonly SiloOptions _silo = siloOptions.Value;
    private readonly MembershipOptions _options = options.Value;

    // Silos this silo declared dead whose jobs it has not yet recovered (the recovery failed): retried every round,
    // because no other silo will declare them again.
    private readonly HashSet<string> _unrecovered = new(StringComparer.Ordinal);

    /// <inheritdoc />
    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        await JoinAsync(cancellationToken);
        LogJoined(_silo.SiloId, _silo.Node, store.ProviderName);
        await base.StartAsync(cancellationToken);
    }

    private Task JoinAsync(CancellationToken cancellationToken)
    {
        var now = timeProvider.GetUtcNow();
        return store.RegisterSiloAsync(new SiloRecord(_silo.SiloId, _silo.Node, _silo.GatewayAddress, SiloStatus.Active, now, now), cancellationToken);
    }

    /// <inheritdoc />
    protected override async Task RunAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(_options.HeartbeatPeriod, timeProvider);
        while (await timer.WaitForNextTickAsync(stoppingToken))
            await BeatOnceAsync(stoppingToken);
    }

    /// <summary>One round: heartbeat, then declare and recover dead silos. Returns false when this silo had been declared dead (it rejoined).</summary>
    public async Task<bool> BeatOnceAsync(CancellationToken cancellationToken)
    {
        try
        {
            var now = timeProvider.GetUtcNow();
            if (!await store.HeartbeatAsync(_silo.SiloId, now, cancellationToken))
            {
                LogDeclaredDeadSelf(_silo.SiloId);
                Lifetime.BeginNewIncarnation();
                await JoinAsync(cancellationToken);
                return false;
            }

            foreach (var dead in await store.DeclareDeadSilosAsync(now - _options.DeathTimeout, cancellationToken))
            {
                LogDeclaredDead(dead.SiloId, dead.Node, now - dead.LastHeartbeat);
                _unrecovered.Add(dead.SiloId);
            }

            foreach (var siloId in _unrecovered.ToList())
            {
                var recovered = await store.RecoverJobsOfOwnerAsync(siloId, now, cancellationToken);
                _unrecovered.Remove(siloId);
                LogRecovered(recovered, siloId);
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogHeartbeatFailed(e, _silo.SiloId);
        }

        return true;
    }

    /// <inheritdoc />
    protected override async Task OnStoppedAsync(CancellationToken cancellationToken)
    {
        await store.MarkSiloStoppedAsync(_silo.SiloId, timeProvider.GetUtcNow(), cancellationToken);
        LogLeft(_silo.SiloId);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Silo {SiloId} on node {Node} joined the cluster ({Store} store)")]
    private partial void LogJoined(string siloId, string node, string store);

    [LoggerMessage(Level = LogLevel.Information, Message = "Silo {SiloId} left the cluster gracefully")]
    private partial void LogLeft(string siloId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Declared silo {SiloId} on node {Node} dead after {Silence} without a heartbeat")]
    private partial void LogDeclaredDead(string siloId, string node, TimeSpan silence);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Returned {Recovered} monitored jobs of dead silo {SiloId} to their queues")]
    private partial void LogRecovered(int recovered, string siloId);

    [LoggerMessage(Level = LogLevel.Error, Message = "Silo {SiloId} was declared dead by the cluster; its running jobs were given to others and are abandoned here; rejoining")]
    private partial void LogDeclaredDeadSelf(string siloId);

    [LoggerMessage(Level = LogLevel.Error, Message = "Silo {SiloId} could not heartbeat; retrying next period")]
    private partial void LogHeartbeatFailed(Exception exception, string siloId);
}
