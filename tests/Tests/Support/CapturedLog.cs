using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Orleans.Jobs.Tests.Support;

/// <summary>A logger provider that keeps every line a host writes, with its category, level and exception, for assertions.</summary>
public sealed class CapturedLog : ILoggerProvider
{
    public ConcurrentQueue<CapturedLine> Lines { get; } = new();

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    /// <summary>The lines kept since <paramref name="mark"/> (a count of lines taken earlier).</summary>
    public IReadOnlyList<CapturedLine> Since(int mark) => [.. Lines.Skip(mark)];

    private sealed class Logger(CapturedLog log, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            log.Lines.Enqueue(new CapturedLine(category, logLevel, $"{formatter(state, exception)} {state} {exception}"));
    }
}

/// <summary>One captured line: its text holds the formatted message, the structured state and the exception.</summary>
public sealed record CapturedLine(string Category, LogLevel Level, string Text);
