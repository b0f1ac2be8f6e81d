using Microsoft.Extensions.Options;

namespace Orleans.Jobs.Grains.Code;

/// <summary>How a silo keeps posted code loaded (configuration section <c>PostedCode</c>).</summary>
public sealed class PostedCodeOptions
{
    /// <summary>Default of <see cref="CheckPeriod"/>.</summary>
    public static readonly TimeSpan DefaultCheckPeriod = TimeSpan.FromSeconds(5);

    /// <summary>Default of <see cref="IdleUnloadAfter"/>.</summary>
    public static readonly TimeSpan DefaultIdleUnloadAfter = TimeSpan.FromMinutes(30);

    /// <summary>
    /// How often a silo asks whether the versions it has loaded were removed, so it unloads them even when no job
    /// for them comes by (a job for a removed version finds out at once).
    /// </summary>
    public TimeSpan CheckPeriod { get; set; } = DefaultCheckPeriod;

    /// <summary>A version no job used for this long is unloaded; the next job loads it again.</summary>
    public TimeSpan IdleUnloadAfter { get; set; } = DefaultIdleUnloadAfter;
}

internal sealed class PostedCodeOptionsValidator : IValidateOptions<PostedCodeOptions>
{
    public ValidateOptionsResult Validate(string? name, PostedCodeOptions options) => new OptionsFailures(nameof(PostedCodeOptions))
        .CheckRange(options.CheckPeriod, TimeSpan.FromMilliseconds(100), TimeSpan.FromHours(1), nameof(PostedCodeOptions.CheckPeriod))
        .CheckRange(options.IdleUnloadAfter, TimeSpan.FromSeconds(1), TimeSpan.FromDays(365), nameof(PostedCodeOptions.IdleUnloadAfter))
        .Result;
}
