using Microsoft.Extensions.Logging;

namespace DirectFuse.Cli.Output;

/// <summary>
/// The engine's loggers, written through <see cref="CliOutput"/> as they happen: the same destination and
/// format rules as the command's own messages (the journal's sd-daemon lines included), and nothing queued on
/// a background thread that an exit could cut short.
/// </summary>
internal sealed class CliLoggerFactory(LogLevel minimum) : ILoggerFactory
{
    public ILogger CreateLogger(string categoryName) => new CliLogger(categoryName, minimum);

    /// <summary>Not supported: every logger writes through <see cref="CliOutput"/>.</summary>
    public void AddProvider(ILoggerProvider provider) => throw new NotSupportedException("CliLoggerFactory writes through CliOutput only");

    public void Dispose() { }

    private sealed class CliLogger(string category, LogLevel minimum) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None && logLevel >= minimum;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel)) return;
            CliOutput.Log(logLevel, category, eventId, formatter(state, exception), exception);
        }
    }
}
