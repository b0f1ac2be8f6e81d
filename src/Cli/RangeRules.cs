using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using System.Numerics;

namespace Orleans.Jobs.Cli;

/// <summary>
/// Range rules for numeric options and arguments, checked at parse time (exit code 2). They read the typed tokens
/// themselves: a value that does not parse is reported by System.CommandLine, not here.
/// </summary>
internal static class RangeRules
{
    public static void AddRange<T>(this Option option, T min, T max) where T : INumber<T>, IParsable<T> =>
        option.Validators.Add(result => Check(result, option.Name, min, max));

    public static void AddRange<T>(this Argument argument, T min, T max) where T : INumber<T>, IParsable<T> =>
        argument.Validators.Add(result => Check(result, argument.Name, min, max));

    private static void Check<T>(SymbolResult result, string name, T min, T max) where T : INumber<T>, IParsable<T>
    {
        foreach (var token in result.Tokens)
            if (T.TryParse(token.Value, CultureInfo.InvariantCulture, out var value) && (value < min || value > max))
                result.AddError($"{name} must be between {min} and {max} (was {token.Value}).");
    }
}
