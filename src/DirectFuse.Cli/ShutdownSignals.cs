using System.Runtime.InteropServices;

namespace DirectFuse.Cli;

/// <summary>
/// SIGINT, SIGTERM, SIGHUP and SIGQUIT as one request to shut down, registered before the mount exists so that
/// no signal can kill the server between mount(2) and serving and leave a dead mount behind.
/// </summary>
/// <remarks>
/// The mount command handles these itself instead of through System.CommandLine's cancellation: that one runs
/// the cancellation callbacks (and with them an awaiting shutdown) on the signal thread, and after its grace
/// period of two seconds makes Invoke return 143, so the process exited in the middle of unmounting under load.
/// Here the handler only records the signal; the main thread does the shutdown and a watchdog bounds it.
/// </remarks>
internal sealed class ShutdownSignals : IDisposable
{
    private readonly PosixSignalRegistration[] _registrations;
    private readonly ManualResetEventSlim _received = new();
    private int _first;

    public ShutdownSignals()
    {
        _registrations =
        [
            PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal),
            PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal),
            PosixSignalRegistration.Create(PosixSignal.SIGHUP, OnSignal),
            PosixSignalRegistration.Create(PosixSignal.SIGQUIT, OnSignal),
        ];
    }

    /// <summary>Set once the first of the four signals has arrived.</summary>
    public WaitHandle WaitHandle => _received.WaitHandle;

    public bool Received => _received.IsSet;

    /// <summary>The first signal received, by name (SIGTERM), or null.</summary>
    public string? Name => Volatile.Read(ref _first) switch
    {
        0 => null,
        var n => ((PosixSignal)n) switch
        {
            PosixSignal.SIGINT => "SIGINT",
            PosixSignal.SIGTERM => "SIGTERM",
            PosixSignal.SIGHUP => "SIGHUP",
            PosixSignal.SIGQUIT => "SIGQUIT",
            var other => other.ToString(),
        },
    };

    private void OnSignal(PosixSignalContext context)
    {
        // Never terminate: the mount must go first. A second signal changes nothing; the shutdown is bounded.
        context.Cancel = true;
        Interlocked.CompareExchange(ref _first, (int)context.Signal, 0);
        _received.Set();
    }

    public void Dispose()
    {
        foreach (var registration in _registrations) registration.Dispose();
    }
}
