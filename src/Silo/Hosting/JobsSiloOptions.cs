using Microsoft.Extensions.Options;
using Orleans.Jobs.Grains.Interfaces;

namespace Orleans.Jobs.Silo.Hosting;

/// <summary>What Orleans.Jobs needs to know about the silo it runs in: the <c>Silo</c> configuration section.</summary>
public sealed class JobsSiloOptions
{
    /// <summary>The configuration section these options bind to.</summary>
    public const string Section = "Silo";

    /// <summary>The node this silo runs on: its node-local queues are <c>queue@node</c>. Default: the machine name.</summary>
    public string Node { get; set; } = Environment.MachineName;

    /// <summary>Where grain state and reminders live. Auto: ADO.NET on PostgreSQL when the job store is PostgreSQL, memory otherwise.</summary>
    public PersistenceKind Persistence { get; set; } = PersistenceKind.Auto;
}

/// <summary>Where Orleans keeps grain state and reminders.</summary>
public enum PersistenceKind
{
    /// <summary>ADO.NET on the job store's PostgreSQL when it is PostgreSQL, memory otherwise.</summary>
    Auto = 0,

    /// <summary>Orleans' memory grain storage and in-memory reminders: lost when the cluster stops.</summary>
    Memory = 1,

    /// <summary>Orleans' ADO.NET grain storage and reminders in the job store's PostgreSQL database.</summary>
    AdoNet = 2,

    /// <summary>Configured by the host itself: register a grain storage named <c>OrleansJobs</c> and a reminder service.</summary>
    External = 3,
}

internal sealed class JobsSiloOptionsValidator : IValidateOptions<JobsSiloOptions>
{
    public ValidateOptionsResult Validate(string? name, JobsSiloOptions options)
    {
        try
        {
            QueueLimits.ValidateNodeName(options.Node, "Silo:Node");
        }
        catch (ArgumentException e)
        {
            return ValidateOptionsResult.Fail(e.Message);
        }

        return Enum.IsDefined(options.Persistence)
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail($"Silo:Persistence must be one of {string.Join(", ", Enum.GetNames<PersistenceKind>())} (was {options.Persistence}).");
    }
}
