using Microsoft.Extensions.Logging;

namespace DirectFuse.Fuzz;

/// <summary>
/// The engine's log as the fuzzer reads it: warnings (malformed requests) are counted; an error (a handler
/// failure, a request left without a reply) is a finding.
/// </summary>
internal sealed class FindingLogger : ILogger
{
    private readonly Lock _lock = new();
    private string? _firstError;
    private long _warnings;

    public long Warnings => Interlocked.Read(ref _warnings);

    public string? FirstError { get { lock (_lock) return _firstError; } }

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (logLevel == LogLevel.Warning)
        {
            Interlocked.Increment(ref _warnings);
            // Malformed input is one line; a stack trace with it means the reader let something through.
            if (exception is null) return;
        }
        else if (logLevel < LogLevel.Warning) return;
        lock (_lock) _firstError ??= $"{logLevel}: {formatter(state, exception)}{(exception is null ? "" : "\n" + exception)}";
    }
}
