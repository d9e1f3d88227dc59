using Microsoft.Extensions.Logging;

namespace DirectFuse.Testing.Engine;

/// <summary>One thing that went wrong on the file system's side, and whether a test has been told yet.</summary>
internal sealed record Fault(string Message, Exception? Exception, bool IsProtocolViolation);

/// <summary>
/// The engine's logger in the kit: passes everything on to the user's logger and keeps what the engine logs at
/// Error or above, which it does only when the file system failed (a handler threw, forgot to reply, Destroy threw).
/// Protocol violations the kit itself finds outside any call (a reply to no request) join them.
/// </summary>
internal sealed class FaultLog(ILogger? next) : ILogger
{
    private readonly Lock _lock = new();
    private readonly List<Fault> _all = [];
    private int _reported;

    public IReadOnlyList<Fault> All { get { lock (_lock) return [.. _all]; } }

    public void Add(Fault fault)
    {
        lock (_lock) _all.Add(fault);
    }

    /// <summary>The faults no call has reported yet; they count as reported from now on.</summary>
    public IReadOnlyList<Fault> TakeUnreported()
    {
        lock (_lock)
        {
            if (_reported == _all.Count) return [];
            var fresh = _all.GetRange(_reported, _all.Count - _reported);
            _reported = _all.Count;
            return fresh;
        }
    }

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => next?.BeginScope(state);

    public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Error || next?.IsEnabled(logLevel) == true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (next?.IsEnabled(logLevel) == true) next.Log(logLevel, eventId, state, exception, formatter);
        if (logLevel < LogLevel.Error) return;
        string message = formatter(state, exception);
        if (exception is not null) message += $" ({exception.GetType().Name}: {exception.Message})";
        Add(new Fault(message, exception, IsProtocolViolation: false));
    }
}
