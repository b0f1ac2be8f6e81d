using Microsoft.Extensions.Options;

namespace Orleans.Jobs.Grains;

/// <summary>What an options validator found wrong, each message naming the setting, its range and the value given.</summary>
/// <param name="options">The options class name the messages start with.</param>
internal sealed class OptionsFailures(string options)
{
    private readonly List<string> _failures = [];

    /// <summary>Records a failure unless <paramref name="value"/> lies between <paramref name="min"/> and <paramref name="max"/>.</summary>
    public OptionsFailures CheckRange(TimeSpan value, TimeSpan min, TimeSpan max, string setting)
    {
        if (value < min || value > max)
            _failures.Add($"{options}.{setting} must be between {min} and {max} (was {value}).");
        return this;
    }

    /// <summary>Success, or every failure recorded.</summary>
    public ValidateOptionsResult Result => _failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(_failures);
}
