using System.Collections.Concurrent;
using System.Reflection;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orleans.Jobs.Runtime.Proxies;
using Orleans.Jobs.Runtime.Reminders;

namespace Orleans.Jobs.Runtime.Hosting;

/// <summary>
/// Runs grain calls inside this silo: finds or creates the activation, holds the grain's cluster-wide turn for
/// non-interleaved methods, and refreshes persistent state at the start of each turn.
/// </summary>
public sealed class LocalGrainRuntime : IGrainCallInvoker, IClusterClient
{
    private static readonly GrainMethod ReceiveReminderMethod =
        GrainInterface.Of(typeof(IRemindable)).Methods[nameof(IRemindable.ReceiveReminder)];

    private readonly ConcurrentDictionary<GrainId, Lazy<Task<Grain>>> _activations = new();
    private readonly GrainRegistry _registry;
    private readonly IServiceProvider _services;
    private readonly IClusterStore _store;
    private readonly TimeProvider _timeProvider;
    private readonly SiloLifetime _lifetime;
    private readonly string _siloId;

    /// <summary>Creates the runtime of one silo.</summary>
    public LocalGrainRuntime(GrainRegistry registry, IServiceProvider services, IClusterStore store, TimeProvider timeProvider, SiloLifetime lifetime, IOptions<SiloOptions> options)
    {
        _registry = registry;
        _services = services;
        _store = store;
        _timeProvider = timeProvider;
        _lifetime = lifetime;
        _siloId = options.Value.SiloId;
    }

    /// <summary>The id of the silo this runtime belongs to.</summary>
    public string SiloId => _siloId;

    /// <summary>True while this silo serves calls.</summary>
    public bool IsServing => !_lifetime.IsKilled;

    /// <inheritdoc />
    public TGrainInterface GetGrain<TGrainInterface>(string primaryKey) where TGrainInterface : IGrainWithStringKey =>
        GrainProxy.Create<TGrainInterface>(primaryKey, this);

    /// <inheritdoc />
    public Task ConnectAsync(CancellationToken cancellationToken = default)
    {
        _lifetime.ThrowIfKilled();
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public async Task<object?> InvokeAsync(GrainId grain, GrainMethod method, object?[] arguments)
    {
        _lifetime.ThrowIfKilled();
        var activation = await GetActivationAsync(grain);
        if (method.AlwaysInterleave)
            return await RunAsync(activation, method, arguments);

        await using var turn = await _store.AcquireTurnAsync(grain, _lifetime.Killed);
        _lifetime.ThrowIfKilled();
        await activation.OnTurnStartAsync(_lifetime.Killed);
        return await RunAsync(activation, method, arguments);
    }

    /// <summary>Delivers a reminder tick to its grain, as a turn.</summary>
    internal Task DeliverReminderAsync(DueReminderTick tick) =>
        InvokeAsync(tick.Reminder.Grain, ReceiveReminderMethod, [tick.Reminder.Name, tick.Status]);

    private async Task<Grain> GetActivationAsync(GrainId grain)
    {
        var lazy = _activations.GetOrAdd(grain, id => new Lazy<Task<Grain>>(() => ActivateAsync(id)));
        try
        {
            return await lazy.Value;
        }
        catch
        {
            _activations.TryRemove(new KeyValuePair<GrainId, Lazy<Task<Grain>>>(grain, lazy));
            throw;
        }
    }

    private async Task<Grain> ActivateAsync(GrainId grain)
    {
        var registration = _registry.ForGrainType(grain.Type);
        var instance = (Grain)ActivatorUtilities.CreateInstance(_services, registration.Implementation);
        instance.Initialize(new GrainContext(grain, _services, _store, _timeProvider, _siloId));
        await instance.OnActivateAsync(_lifetime.Killed);
        return instance;
    }

    private static async Task<object?> RunAsync(Grain activation, GrainMethod method, object?[] arguments)
    {
        if (!method.Method.DeclaringType!.IsInstanceOfType(activation))
            throw new InvalidOperationException($"Grain {activation.GrainId} ({activation.GetType().Name}) does not implement {method.Method.DeclaringType.Name}.");

        var task = (Task)method.Method.Invoke(activation, BindingFlags.DoNotWrapExceptions, binder: null, arguments, culture: null)!;
        await task;
        return method.GetResult(task);
    }
}
