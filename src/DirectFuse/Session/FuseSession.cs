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
/// <see cref="Completion"/> reports.
/// </summary>
public sealed partial class FuseSession : IDisposable
{
    private readonly FuseMount _mount;
    private readonly FuseSessionCore _core;
    private readonly List<FuseChannel> _channels = [];
    private readonly WorkerThreads _workers;
    private readonly ILogger _logger;
    private readonly int _threadCount;
    private int _disposed;
    private volatile FuseRingTransport? _ring;

    private FuseSession(FuseMount mount, FuseSessionCore core, int threads, ILogger logger)
    {
        _mount = mount;
        _core = core;
        _threadCount = Math.Max(1, threads);
        _logger = logger;
        _workers = new WorkerThreads(core, logger, "fuse-worker");
        _workers.Completion.ContinueWith(t => LogEnded(logger, mount.MountPoint, t.Result), TaskContinuationOptions.OnlyOnRanToCompletion);
    }

    public string MountPoint => _mount.MountPoint;
    /// <summary>The FUSE connection number (/sys/fs/fuse/connections/N), if it could be read from mountinfo.</summary>
    public uint? ConnectionId => _mount.ConnectionId;
    public FuseConnection Connection => _core.Connection;
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

    /// <summary>Mounts <paramref name="fileSystem"/> at <paramref name="mountPoint"/> and starts serving; returns once the kernel's INIT is answered.</summary>
    public static FuseSession Mount(LowLevelFileSystem fileSystem, string mountPoint, FuseSessionOptions? options = null)
    {
        options ??= new FuseSessionOptions();
        var logger = options.LoggerFactory.CreateLogger("DirectFuse");
        var core = new FuseSessionCore(fileSystem, options, logger);
        var mount = FuseMount.Create(mountPoint, options.Mount, logger);
        var session = new FuseSession(mount, core, options.Threads, logger);
        try
        {
            session.Start();
            // A worker that dies before INIT (the kernel refused our reply, the fd broke) ends the wait at once.
            int first = Task.WaitAny([core.InitCompleted, session.Completion], options.InitTimeout);
            if (core.InitFailure is { } failure)
                throw new MountException($"setting up the connection failed: {failure.GetType().Name}: {failure.Message}", failure);
            if (first != 0)
                throw new MountException(first < 0
                    ? $"the kernel did not send INIT within {options.InitTimeout.TotalSeconds:0}s"
                    : $"the session ended before INIT completed: {session.Completion.Result}");
            session.StartMoreWorkers();
            session.StartTransport(options);
            LogMounted(logger, session.MountPoint, session._workers.Count, mount.ViaFusermount ? "fusermount3" : "mount(2)");
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
            int clone = Libc.open("/dev/fuse", Libc.O_RDWR | Libc.O_CLOEXEC, 0);
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
            string reason = _core.RunWorker(channel);
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
        if (!_core.Connection.Has(InitFlags.OverIoUring))
            TransportReason = "io_uring not used: " + (_core.IoUringRefusal ?? "not negotiated");
        else
        {
            _ring = FuseRingTransport.Start(_core, _core.ControlChannel!.Fd, _workers, AbortForRing, _logger, out string reason);
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

    /// <summary>Unmounts; the workers stop once the kernel drops the connection.</summary>
    public void Unmount() => _mount.Unmount();

    /// <summary>Waits until the session ends (external unmount, Dispose, or cancellation of the wait).</summary>
    public Task<string> WaitAsync(CancellationToken cancellationToken = default) => Completion.WaitAsync(cancellationToken);

    /// <summary>
    /// Aborts the connection (every pending and future request fails with ENOTCONN) and detaches the mount
    /// lazily, whatever a <see cref="Shutdown"/> on another thread is waiting for. For a bounded shutdown that
    /// must end even if unmounting hangs. Returns true once the mount is gone.
    /// </summary>
    public bool ForceUnmount() => _mount.ForceUnmount();

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
        _mount.Unmount();
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
            foreach (var channel in _channels) channel.Dispose();
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
