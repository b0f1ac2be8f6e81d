using System.CommandLine;
using System.CommandLine.Parsing;

namespace Orleans.Jobs.Cli;

/// <summary>
/// The cluster's own input rules (<c>QueueLimits</c> and the like) checked at parse time, so a value they refuse exits 2
/// with their message before anything connects. A rule refuses by throwing <see cref="ArgumentException"/>.
/// </summary>
internal static class InputRules
{
    public static void AddRule(this Option option, Action<string> rule) => option.Validators.Add(result => Check(result, rule));

    public static void AddRule(this Argument argument, Action<string> rule) => argument.Validators.Add(result => Check(result, rule));

    private static void Check(SymbolResult result, Action<string> rule)
    {
        foreach (var token in result.Tokens)
        {
            try
            {
                rule(token.Value);
            }
            catch (ArgumentException e)
            {
                result.AddError(e.Message);
            }
        }
    }
}
