using DirectFuse.Session;

namespace DirectFuse.Cli;

/// <summary>
/// Bounds a shutdown: if the main thread has not finished unmounting and stopping the session when the bound
/// expires, it forces the mount away (abort, lazy detach) and exits the process. An orderly shutdown is itself
/// bounded except where it waits on the kernel (umount(2) syncing through a handler that never answers,
/// fusermount3); this is for those.
/// </summary>
internal sealed class ShutdownWatchdog : IDisposable
{
    private readonly ManualResetEventSlim _done = new();

    private ShutdownWatchdog() { }

    /// <summary>Starts watching; Dispose once the shutdown is complete.</summary>
    public static ShutdownWatchdog Start(FuseSession session, TimeSpan bound)
    {
        var watchdog = new ShutdownWatchdog();
        // A dedicated thread, not a timer: under load the thread pool may be busy with the very handlers that hang.
        new Thread(() => watchdog.Watch(session, bound)) { IsBackground = true, Name = "shutdown-watchdog" }.Start();
        return watchdog;
    }

    private void Watch(FuseSession session, TimeSpan bound)
    {
        if (_done.Wait(bound)) return;
        // On its own thread too: fusermount3 (for auto_unmount or a non-root server) is a process that could hang
        // as well, and the exit below must come regardless.
        bool gone = false;
        var force = new Thread(() => gone = session.ForceUnmount()) { IsBackground = true, Name = "force-unmount" };
        force.Start();
        force.Join(TimeSpan.FromSeconds(2));
        // The abort ends what the main thread waited on; let it finish normally if it can.
        if (_done.Wait(TimeSpan.FromSeconds(1))) return;
        Output.CliOutput.Fail(gone
            ? $"directfuse: shutdown not finished after {bound.TotalSeconds:0} s; connection aborted, mount removed, exiting"
            : $"directfuse: shutdown not finished after {bound.TotalSeconds:0} s and {session.MountPoint} could not be unmounted; exiting");
        // Exit 0 when the mount is gone: what the signal asked for is done, and acknowledged writes were answered
        // only after they reached the file system. A mount left behind is a failure the admin must see.
        Environment.Exit(gone ? 0 : 1);
    }

    public void Dispose() => _done.Set();
}
