using Microsoft.Extensions.Options;

namespace Orleans.Jobs.Runtime.Membership;

/// <summary>Options of silo membership: heartbeats and death detection.</summary>
public sealed class MembershipOptions
{
    /// <summary>Default of <see cref="HeartbeatPeriod"/>.</summary>
    public static readonly TimeSpan DefaultHeartbeatPeriod = TimeSpan.FromSeconds(2);

    /// <summary>Default of <see cref="DeathTimeout"/>.</summary>
    public static readonly TimeSpan DefaultDeathTimeout = TimeSpan.FromSeconds(10);

    /// <summary>How often a silo heartbeats and checks the others.</summary>
    public TimeSpan HeartbeatPeriod { get; set; } = DefaultHeartbeatPeriod;

    /// <summary>A silo whose last heartbeat is older than this is declared dead and its monitored jobs are recovered.</summary>
    public TimeSpan DeathTimeout { get; set; } = DefaultDeathTimeout;
}

internal sealed class MembershipOptionsValidator : IValidateOptions<MembershipOptions>
{
    public ValidateOptionsResult Validate(string? name, MembershipOptions options)
    {
        if (options.HeartbeatPeriod <= TimeSpan.Zero)
            return ValidateOptionsResult.Fail($"{nameof(MembershipOptions)}.{nameof(MembershipOptions.HeartbeatPeriod)} must be positive (was {options.HeartbeatPeriod}).");
        if (options.DeathTimeout < options.HeartbeatPeriod * 2)
            return ValidateOptionsResult.Fail($"{nameof(MembershipOptions)}.{nameof(MembershipOptions.DeathTimeout)} ({options.DeathTimeout}) must be at least twice {nameof(MembershipOptions.HeartbeatPeriod)} ({options.HeartbeatPeriod}), or live silos would be declared dead.");
        return ValidateOptionsResult.Success;
    }
}
