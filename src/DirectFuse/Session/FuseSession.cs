using DirectFuse.Interop;
using DirectFuse.LowLevel;
using DirectFuse.Protocol;
using DirectFuse.Session.Uring;
using DirectFuse.Transport;
using Microsoft.Extensions.Logging;

namespace DirectFuse.Session;

/// <summary>
/// A mounted file system being served: the mount, its worker threads, and the engine. Disposing it
/// unmounts and waits for the workers; an external unmount (umount, fusermount3 -u) ends it too, which
/// <see cref="Completion"/> reports. A session on a /dev/fuse fd that another process mounted
/// (<see cref="ServeMounted"/>) stops serving instead of unmounting.
/// </summary>
public sealed partial class FuseSession : IDisposable
{
    private readonly FuseMount _mount;
    private readonly FuseSessionCore _core;
    private readonly List<FuseChannel> _channels = [];
    private readonly WorkerThreads _workers;
    private readonly ILogger _logger;
    private readonly int _threadCount;
    /// <summary>
    /// For an inherited fd: an eventfd the workers poll besides their channel. No unmount of ours ends their
    /// reads with ENODEV there, so this is how they stop (as CUSE workers do). -1 for a mount of our own.
    /// </summary>
    private readonly int _stopFd = -1;
    private int _disposed;
    private volatile FuseRingTransport? _ring;

    private FuseSession(FuseMount mount, FuseSessionCore core, int threads, ILogger logger)
    {
        _mount = mount;
        _core = core;
        _threadCount = Math.Max(1, threads);
        _logger = logger;
        if (mount.Inherited)
        {
            _stopFd = Libc.eventfd(0, Libc.EFD_CLOEXEC);
            if (_stopFd < 0) throw new MountException($"eventfd failed: {Errno.Last}", Errno.Last);
        }
        _workers = new WorkerThreads(core, logger, "fuse-worker");
        _workers.Completion.ContinueWith(t => LogEnded(logger, mount.MountPoint, t.Result), TaskContinuationOptions.OnlyOnRanToCompletion);
    }

    /// <summary>The newest FUSE kernel protocol version this engine speaks.</summary>
    public static Version ProtocolVersion { get; } = new((int)FuseDispatcher.ProtocolMajor, (int)FuseDispatcher.ProtocolMinor);

    /// <summary>The oldest FUSE kernel protocol version this engine accepts at INIT.</summary>
    public static Version OldestProtocolVersion { get; } = new((int)FuseDispatcher.ProtocolMajor, (int)FuseDispatcher.OldestMinor);

    /// <summary>Where the file system is mounted; <c>/dev/fd/N</c> for a session on an inherited fd.</summary>
    public string MountPoint => _mount.MountPoint;
    /// <summary>True when this session serves a /dev/fuse fd that another process mounted (<see cref="ServeMounted"/>).</summary>
    public bool ServesInheritedFd => _mount.Inherited;
    /// <summary>The FUSE connection number (/sys/fs/fuse/connections/N), if it could be read from mountinfo.</summary>
    public uint? ConnectionId => _mount.ConnectionId;
    /// <summary>The connection as negotiated at INIT: protocol version, capabilities and limits.</summary>
    public FuseConnection Connection => _core.Connection;
    /// <summary>
    /// Server-to-kernel notifications on this mount: cache invalidation, store, retrieve, poll wake-ups.
    /// </summary>
    public FuseNotifier Notifier => _core.Notifier;
    /// <summary>True when mounted through fusermount3 (not root, or auto_unmount).</summary>
    public bool MountedWithFusermount => _mount.ViaFusermount;
    /// <summary>How the kernel's requests reach this session (decided once, when the mount starts).</summary>
    public FuseTransport Transport { get; private set; } = FuseTransport.DevFuse;
    /// <summary>Why <see cref="Transport"/> is what it is: the ring's shape, or why io_uring is not used.</summary>
    public string TransportReason { get; private set; } = "io_uring not requested (FuseSessionOptions.UseIoUring is off)";
    /// <summary>Requests read from /dev/fuse (and its clones) so far: with io_uring, what the kernel still sends there.</summary>
    public long RequestsFromDevice
    {
        get
        {
            long sum = 0;
            lock (_channels)
                foreach (var channel in _channels) sum += Volatile.Read(ref channel.RequestsRead);
            return sum;
        }
    }
    /// <summary>Requests delivered through the io_uring queues so far (0 on /dev/fuse).</summary>
    public long RequestsFromRing => _ring?.RequestsServed ?? 0;
    /// <summary>Completes with the reason when every worker has stopped (unmounted, aborted).</summary>
    public Task<string> Completion => _workers.Completion;

    /// <summary>
    /// Mounts <paramref name="fileSystem"/> at <paramref name="mountPoint"/> and starts serving; returns once the
    /// kernel's INIT is answered. A mount point of the form <c>/dev/fd/N</c> is libfuse's convention for a
    /// /dev/fuse fd that the parent already opened and mounted: it is served as <see cref="ServeMounted"/> does.
    /// </summary>
    public static FuseSession Mount(LowLevelFileSystem fileSystem, string mountPoint, FuseSessionOptions? options = null)
    {
        if (FuseMounts.TryParseDeviceFd(mountPoint, out int fd)) return ServeMounted(fileSystem, fd, options);
        options ??= new FuseSessionOptions();
        var logger = options.LoggerFactory.CreateLogger("DirectFuse");
        return Start(FuseMount.Create(mountPoint, options.Mount, logger), fileSystem, options, logger);
    }

    /// <summary>
    /// Serves <paramref name="fileSystem"/> on <paramref name="deviceFd"/>, a /dev/fuse fd that another process
    /// opened and mounted (it passed the fd on, as mount.fuse3's drop_privileges does); returns once the kernel's
    /// INIT is answered. The session takes the fd over (and closes it when it ends). Its mount belongs to the
    /// other process: <see cref="Unmount"/> and <see cref="Dispose"/> stop serving instead, after which requests
    /// on the mount fail with ENOTCONN until that process unmounts it; an unmount from outside ends the session.
    /// Of <see cref="FuseSessionOptions.Mount"/> only what the server itself enforces applies (allow_root,
    /// max_read): the rest was decided when the other process mounted.
    /// </summary>
    public static FuseSession ServeMounted(LowLevelFileSystem fileSystem, int deviceFd, FuseSessionOptions? options = null)
    {
        options ??= new FuseSessionOptions();
        var logger = options.LoggerFactory.CreateLogger("DirectFuse");
        return Start(FuseMount.Inherit(deviceFd, options.Mount, logger), fileSystem, options, logger);
    }

    private static FuseSession Start(FuseMount mount, LowLevelFileSystem fileSystem, FuseSessionOptions options, ILogger logger)
    {
        FuseSession session;
        try
        {
            var core = new FuseSessionCore(fileSystem, options, logger, mount.MountPoint);
            session = new FuseSession(mount, core, options.Threads, logger);
        }
        catch
        {
            mount.Dispose();
            throw;
        }
        var init = session._core.InitCompleted;
        try
        {
            session.Start();
            // A worker that dies before INIT (the kernel refused our reply, the fd broke) ends the wait at once.
            // Waited on the tasks' own wait handles, which their completion sets on the completing thread:
            // Task.WaitAny is woken by a continuation, which the INIT task (it runs its continuations
            // asynchronously) queues to the thread pool. Under heavy load a mount failed with "the kernel did not
            // send INIT within 10s" although INIT had been answered 8 s before.
            int first = WaitHandle.WaitAny([((IAsyncResult)init).AsyncWaitHandle, ((IAsyncResult)session.Completion).AsyncWaitHandle], options.InitTimeout);
            if (session._core.InitFailure is { } failure)
                throw new MountException($"setting up the connection failed: {failure.GetType().Name}: {failure.Message}", failure);
            if (first != 0)
                throw new MountException(first == WaitHandle.WaitTimeout
                    ? $"the kernel did not send INIT within {options.InitTimeout.TotalSeconds:0}s"
                        + (mount.Inherited ? $" (is {mount.MountPoint} mounted? the process that passed it must mount it first)" : "")
                    : $"the session ended before INIT completed: {session.Completion.Result}");
            session.StartMoreWorkers();
            session.StartTransport(options);
            LogMounted(logger, session.MountPoint, session._workers.Count, mount.Inherited ? "the parent process" : mount.ViaFusermount ? "fusermount3" : "mount(2)");
            return session;
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    private void Start()
    {
        var main = new FuseChannel(_mount.TakeDeviceFd(), "/dev/fuse");
        _core.ControlChannel = main;
        StartWorker(main);
    }

    /// <summary>After INIT, more workers on cloned fds: each reads its own queue position and answers on its own fd.</summary>
    private unsafe void StartMoreWorkers()
    {
        for (int i = 1; i < _threadCount; i++)
        {
            FuseChannel channel;
            // Clones share the connection's queue: a worker woken by poll may find its request taken by another,
            // and must then return to poll (where the stop fd reaches it) rather than block in read(2).
            int clone = Libc.open("/dev/fuse", Libc.O_RDWR | Libc.O_CLOEXEC | (_stopFd >= 0 ? Libc.O_NONBLOCK : 0), 0);
            uint masterFd = (uint)_core.ControlChannel!.Fd;
            if (clone >= 0 && Libc.ioctl(clone, Interop.FuseIoctl.DevClone, &masterFd) == 0)
                channel = new FuseChannel(clone, $"/dev/fuse clone {i}");
            else
            {
                if (clone >= 0) Libc.close(clone);
                LogCloneFailed(_logger, Errno.Last.ToString());
                channel = _core.ControlChannel; // share the first fd: still correct, just contended
            }
            StartWorker(channel);
        }
    }

    private void StartWorker(FuseChannel channel)
    {
        lock (_channels)
            if (!_channels.Contains(channel)) _channels.Add(channel);
        _workers.Start(() =>
        {
            string reason = _core.RunWorker(channel, _stopFd);
            // ENODEV: the connection is gone, and so is every ring entry the kernel still held.
            if (reason == "unmounted") _ring?.MarkConnectionGone();
            return reason;
        });
    }

    /// <summary>
    /// After INIT: moves requests to io_uring queues when INIT negotiated FUSE_OVER_IO_URING, else stays on
    /// /dev/fuse; either way the choice and its reason are logged once.
    /// </summary>
    private void StartTransport(FuseSessionOptions options)
    {
        if (!options.UseIoUring) return;
        // An inherited fd stays on the device: its session stops through an eventfd the ring queues do not wait on,
        // and FuseRingKicker needs the mount's path, which a /dev/fd/N server does not know.
        if (_mount.Inherited)
            TransportReason = $"io_uring not used: {MountPoint} is an inherited /dev/fuse, served through the fd itself";
        else if (!_core.Connection.Has(InitFlags.OverIoUring))
            TransportReason = "io_uring not used: " + (_core.IoUringRefusal ?? "not negotiated");
        else
        {
            _ring = FuseRingTransport.Start(_core, _core.ControlChannel!.Fd, _mount.AutoUnmountSocket, MountPoint, _workers, AbortForRing, _logger, out string reason);
            if (_ring is not null) Transport = FuseTransport.IoUring;
            TransportReason = _ring is not null ? reason : "io_uring not used: " + reason;
        }
        if (Transport == FuseTransport.IoUring) LogTransport(_logger, MountPoint, "io_uring", TransportReason);
        else LogTransportFallback(_logger, MountPoint, TransportReason);
    }

    private void AbortForRing(string reason)
    {
        LogRingAbort(_logger, MountPoint, reason);
        _mount.Abort();
    }

    /// <summary>
    /// Unmounts; the workers stop once the kernel drops the connection. On an inherited fd: stops serving (the
    /// mount is the other process's to remove).
    /// </summary>
    public void Unmount()
    {
        if (_mount.Inherited) StopServing();
        else _mount.Unmount();
    }

    /// <summary>Wakes every worker of an inherited-fd session from its poll and ends its loop.</summary>
    private unsafe void StopServing()
    {
        ulong one = 1;
        Libc.write(_stopFd, (byte*)&one, 8);
    }

    /// <summary>Waits until the session ends (external unmount, Dispose, or cancellation of the wait).</summary>
    public Task<string> WaitAsync(CancellationToken cancellationToken = default) => Completion.WaitAsync(cancellationToken);

    /// <summary>
    /// Aborts the connection (every pending and future request fails with ENOTCONN) and detaches the mount
    /// lazily, whatever a <see cref="Shutdown"/> on another thread is waiting for. For a bounded shutdown that
    /// must end even if unmounting hangs. Returns true once the mount is gone.
    /// </summary>
    public bool ForceUnmount()
    {
        if (_mount.Inherited) StopServing();
        return _mount.ForceUnmount();
    }

    /// <summary>
    /// <see cref="Shutdown"/> with 2 s for clients to let go of the mount and 5 s for the workers after the abort.
    /// </summary>
    public void Dispose() => Shutdown(TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(5));

    /// <summary>
    /// Unmounts (lazily if a client keeps the mount busy), gives clients with open files up to
    /// <paramref name="grace"/> to let go, then aborts the connection and waits up to <paramref name="afterAbort"/>
    /// for the workers. Returns false if a worker is still inside a handler that does not return; the mount is
    /// gone either way. Only the first call (or Dispose) acts.
    /// </summary>
    public bool Shutdown(TimeSpan grace, TimeSpan afterAbort)
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return _workers.Running == 0;
        // Ended by an unmount from outside: the mount point is not ours any more (see FuseMount.ConnectionEnded).
        if (_workers.Completion is { IsCompletedSuccessfully: true, Result: "unmounted" }) _mount.ConnectionEnded();
        else Unmount();
        // A lazy unmount leaves the connection alive while files on it are open; abort it then.
        if (!_workers.Join(grace))
        {
            _mount.Abort();
            _workers.Join(afterAbort);
        }
        bool stopped = _workers.Running == 0;
        // The last worker runs Destroy; while workers still serve (a lazily detached mount that a client keeps
        // busy, and no right to abort it) the file system must stay alive for them.
        if (stopped)
        {
            // For an inherited fd, closing the last of them is what makes the kernel end the connection.
            foreach (var channel in _channels) channel.Dispose();
            if (_stopFd >= 0) Libc.close(_stopFd);
        }
        _mount.Dispose();
        return stopped;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Mounted {MountPoint} with {Threads} worker threads via {How}")]
    private static partial void LogMounted(ILogger logger, string mountPoint, int threads, string how);

    [LoggerMessage(Level = LogLevel.Information, Message = "{MountPoint}: requests over {Transport} ({Reason})")]
    private static partial void LogTransport(ILogger logger, string mountPoint, string transport, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{MountPoint}: requests over /dev/fuse: {Reason}")]
    private static partial void LogTransportFallback(ILogger logger, string mountPoint, string reason);

    [LoggerMessage(Level = LogLevel.Critical, Message = "{MountPoint}: aborting the connection: {Reason}")]
    private static partial void LogRingAbort(ILogger logger, string mountPoint, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Session on {MountPoint} ended: {Reason}")]
    private static partial void LogEnded(ILogger logger, string mountPoint, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "FUSE_DEV_IOC_CLONE failed ({Errno}); workers share one fd")]
    private static partial void LogCloneFailed(ILogger logger, string errno);

}
