using System.Text.Json;
using System.Text.Json.Serialization;
using Spectre.Console;

namespace Orleans.Jobs.Cli;

/// <summary>
/// Where a command writes: plain lines, JSON for scripts (<c>--json</c>), or Spectre tables and progress bars — those
/// only when stdout is a terminal.
/// </summary>
internal sealed class CliConsole(TextWriter output, TextWriter error, bool isTerminal)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerOptions.Web)
    {
        WriteIndented = true,
        Converters = { new JsonStringEnumConverter() },
    };

    public TextWriter Out { get; } = output;

    public TextWriter Error { get; } = error;

    /// <summary>True when stdout is a terminal: tables and live progress are drawn only then.</summary>
    public bool IsTerminal { get; } = isTerminal;

    /// <summary>Spectre's console on stdout, for terminals.</summary>
    public IAnsiConsole Ansi { get; } = AnsiConsole.Create(new AnsiConsoleSettings
    {
        Out = new AnsiConsoleOutput(output),
        Ansi = isTerminal ? AnsiSupport.Detect : AnsiSupport.No,
        Interactive = isTerminal ? InteractionSupport.Detect : InteractionSupport.No,
    });

    public void WriteJson<T>(T value) => Out.WriteLine(JsonSerializer.Serialize(value, Json));

    public void Line(string text) => Out.WriteLine(text);

    public void Fail(string message) => Error.WriteLine($"jobs: {message}");
}
