using System.CommandLine;
using System.CommandLine.Parsing;
using System.Text.RegularExpressions;

namespace Orleans.Jobs.Cli.Commands;

/// <summary>Short human durations: 42s, 5m03s, 2h10m, 3d04h when shown; 7d, 1h, 30m, 0s or 1h30m when given.</summary>
internal static partial class Duration
{
    public static string Format(TimeSpan span)
    {
        if (span < TimeSpan.Zero) span = TimeSpan.Zero;
        return span.TotalMinutes < 1 ? $"{span.TotalSeconds:0}s"
            : span.TotalHours < 1 ? $"{(int)span.TotalMinutes}m{span.Seconds:00}s"
            : span.TotalDays < 1 ? $"{(int)span.TotalHours}h{span.Minutes:00}m"
            : $"{(int)span.TotalDays}d{span.Hours:00}h";
    }

    /// <summary>Reads whole numbers each with a unit d, h, m or s, such as 7d, 30m, 0s or 1h30m; false for anything else.</summary>
    public static bool TryParse(string text, out TimeSpan duration)
    {
        duration = TimeSpan.Zero;
        if (!DurationPattern().IsMatch(text)) return false;
        foreach (Match part in PartPattern().Matches(text))
        {
            var amount = int.Parse(part.Groups[1].ValueSpan, provider: null);
            duration += part.Groups[2].Value switch
            {
                "d" => TimeSpan.FromDays(amount),
                "h" => TimeSpan.FromHours(amount),
                "m" => TimeSpan.FromMinutes(amount),
                _ => TimeSpan.FromSeconds(amount),
            };
        }

        return true;
    }

    /// <summary>
    /// An option taking a duration (<see cref="TryParse"/>), <paramref name="defaultValue"/> when not given, and
    /// checked by <paramref name="rule"/> at parse time: a bad value is exit code 2.
    /// </summary>
    public static Option<TimeSpan> Option(string name, string description, TimeSpan defaultValue, Action<TimeSpan, string> rule) => new(name)
    {
        Description = description,
        DefaultValueFactory = _ => defaultValue,
        CustomParser = result =>
        {
            if (result.Tokens.Count == 0) return defaultValue;
            var text = result.Tokens[0].Value;
            if (!TryParse(text, out var duration))
            {
                result.AddError($"{name} '{text}' is not a duration: use whole numbers with a unit d, h, m or s, such as 7d, 1h, 30m, 0s or 1h30m.");
                return defaultValue;
            }

            try
            {
                rule(duration, name);
            }
            catch (ArgumentException e)
            {
                result.AddError(e.Message);
            }

            return duration;
        },
    };

    // At most 6 digits a part, so even several parts of days stay far inside TimeSpan's range.
    [GeneratedRegex("^(?:[0-9]{1,6}[dhms])+\\z")]
    private static partial Regex DurationPattern();

    [GeneratedRegex("([0-9]{1,6})([dhms])")]
    private static partial Regex PartPattern();
}
