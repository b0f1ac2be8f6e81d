using Orleans.Jobs.Runtime.Reminders;

namespace Orleans.Jobs.Runtime;

/// <summary>
/// Base class of grain implementations. An activation may exist on several silos at once; fields are a
/// per-silo cache and only persistent state (see <see cref="Grain{TState}"/>) is shared.
/// </summary>
public abstract class Grain
{
    private GrainContext? _context;

    /// <summary>The runtime context of this activation.</summary>
    protected GrainContext Context => _context ?? throw new InvalidOperationException("The grain has not been activated by the runtime.");

    /// <summary>The id of this grain.</summary>
    public GrainId GrainId => Context.GrainId;

    /// <summary>The key of this grain.</summary>
    public string GetPrimaryKeyString() => Context.GrainId.Key;

    /// <summary>The clock of the hosting silo; use it instead of <see cref="DateTimeOffset.UtcNow"/>.</summary>
    protected TimeProvider TimeProvider => Context.TimeProvider;

    internal void Initialize(GrainContext context) => _context = context;

    /// <summary>Called once when the activation is created on a silo, before its first call.</summary>
    public virtual Task OnActivateAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Called at the start of each non-interleaved turn, while the turn is held.</summary>
    internal virtual Task OnTurnStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>
    /// Registers a durable reminder or changes its schedule. It survives silo restarts and is ticked by
    /// exactly one live silo; the grain must implement <see cref="IRemindable"/>.
    /// </summary>
    protected Task<IGrainReminder> RegisterOrUpdateReminder(string reminderName, TimeSpan dueTime, TimeSpan period)
    {
        if (this is not IRemindable)
            throw new InvalidOperationException($"Grain {GrainId} must implement {nameof(IRemindable)} to register reminders.");
        return Registry.RegisterOrUpdateAsync(GrainId, reminderName, dueTime, period);
    }

    /// <summary>Removes a reminder; it will not tick again.</summary>
    protected Task UnregisterReminder(IGrainReminder reminder) => Registry.UnregisterAsync(GrainId, reminder.ReminderName);

    /// <summary>Returns the reminder with the given name, or null.</summary>
    protected Task<IGrainReminder?> GetReminder(string reminderName) => Registry.GetAsync(GrainId, reminderName);

    private ReminderRegistry Registry => (ReminderRegistry)Context.Services.GetService(typeof(ReminderRegistry))!;
}
