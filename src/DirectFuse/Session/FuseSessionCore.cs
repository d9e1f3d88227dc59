using DirectFuse.Interop;
using DirectFuse.LowLevel;
using DirectFuse.Protocol;
using Microsoft.Extensions.Logging;
using Microsoft.Win32.SafeHandles;

namespace DirectFuse.Session;

/// <summary>
/// The transport-independent engine of one FUSE connection: INIT state, the dispatcher, the request pool,
/// notifications and backing files. A <see cref="FuseSession"/> feeds it /dev/fuse fds; tests feed it one
/// end of a socketpair.
/// </summary>
internal sealed partial class FuseSessionCore
{
    private readonly ILogger _logger;
    private readonly FuseSessionOptions _options;
    private static readonly uint PageSize = (uint)Environment.SystemPageSize;
    private int _destroyed;
    private int _inFlight;
    private volatile bool _initialized;
    // INIT as a state machine: Waiting → Answering (one worker writes the reply) → Ready once it is written.
    private const int InitWaiting = 0, InitAnswering = 1, InitReady = 2;
    private int _initState;
    private readonly TaskCompletionSource _initDone = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <param name="fileSystem">What the session serves.</param>
    /// <param name="options">How it serves.</param>
    /// <param name="logger">Where it logs.</param>
    /// <param name="mount">What names it in metrics and spans (<see cref="FuseTelemetry.MountTag"/>): the mount point, /dev/NAME.</param>
    public FuseSessionCore(LowLevelFileSystem fileSystem, FuseSessionOptions options, ILogger logger, string mount = "")
    {
        Metrics = new FuseMetrics(mount);
        _options = options;
        Owner = Libc.geteuid();
        _logger = logger;
        Connection = new FuseConnection(this);
        Notifier = new FuseNotifier(this);
        uint maxWrite = Math.Clamp(options.MaxWrite, 4096u, 1u << 20);
        Pool = new RequestPool(inSize: (int)maxWrite + 4096, outSize: (int)maxWrite + 4096);
        Pending = new PendingLimit(options.MaxPendingRequests);
        Dispatcher = new FuseDispatcher(this, fileSystem, logger, options.Debug);
        FileSystem = fileSystem;
    }

    public LowLevelFileSystem FileSystem { get; }
    public FuseConnection Connection { get; }
    public FuseNotifier Notifier { get; }
    public RequestPool Pool { get; }
    /// <summary>The cap on requests held at once (<see cref="FuseSessionOptions.MaxPendingRequests"/>).</summary>
    public PendingLimit Pending { get; }
    /// <summary><see cref="FuseSessionOptions.MaxPendingRequests"/>: also the most entries an io_uring queue grows to.</summary>
    public int MaxPendingRequests => Math.Max(1, _options.MaxPendingRequests);
    /// <summary>Requests whose handlers are running asynchronously now.</summary>
    public int InFlight => Volatile.Read(ref _inFlight);
    public FuseDispatcher Dispatcher { get; }
    public FuseMetrics Metrics { get; }
    public ILogger Logger => _logger;
    public bool Initialized => _initialized;
    public Task InitCompleted => _initDone.Task;
    /// <summary>The CUSE side of the server when this session serves /dev/cuse (set by the CUSE layer); null for a FUSE mount.</summary>
    public ICuseServer? Cuse { get; init; }
    public bool IsCuse => Cuse is not null;

    /// <summary>The uid the mount belongs to (the one passed as user_id): this process's effective uid.</summary>
    public uint Owner { get; }

    /// <summary>allow_root: requests of users other than <see cref="Owner"/> and root are refused (<see cref="OwnerOnlyAccess"/>).</summary>
    public bool OwnerAndRootOnly => !IsCuse && _options.Mount.AllowRoot;

    /// <summary>The options of the mount this session serves; null for a CUSE device.</summary>
    public MountOptions? MountOptions => IsCuse ? null : _options.Mount;

    /// <summary>Why FUSE over io_uring was not negotiated although asked for; null when it was (or not asked for).</summary>
    public string? IoUringRefusal { get; private set; }

    /// <summary>The channel notifications and backing-file ioctls go through (the session's first fd).</summary>
    public FuseChannel? ControlChannel { get; set; }

    /// <summary>Claims the INIT about to be answered; false for a second INIT (one is answered or being answered).</summary>
    public bool TryBeginInit() => Interlocked.CompareExchange(ref _initState, InitAnswering, InitWaiting) == InitWaiting;

    /// <summary>The INIT was answered without a connection (another major version, a refusal): the kernel may send INIT again.</summary>
    public void AbandonInit() => Volatile.Write(ref _initState, InitWaiting);

    /// <summary>True while a worker writes the INIT reply: a request that arrives now was sent after the kernel took it.</summary>
    public bool InitInProgress => Volatile.Read(ref _initState) == InitAnswering;

    /// <summary>
    /// After the INIT reply has been written: the kernel has processed it (the write returns only then), so
    /// what it enabled, passthrough backing files included, now works. Not before: a file system that probes
    /// passthrough as soon as the mount is up would otherwise reach the kernel first and be refused.
    /// </summary>
    public void MarkInitialized()
    {
        Volatile.Write(ref _initState, InitReady);
        _initialized = true;
        _initDone.TrySetResult();
    }

    /// <summary>
    /// Setting up the connection threw (the file system's Init, typically): the INIT is answered with an error,
    /// and whoever waits for <see cref="InitCompleted"/> learns why at once, instead of timing out as if the
    /// kernel had never sent INIT.
    /// </summary>
    public void FailInit(Exception e) => _initDone.TrySetException(e);

    /// <summary>Why set-up failed (<see cref="FailInit"/>), for a mount's error message; null while it has not.</summary>
    public Exception? InitFailure => _initDone.Task.Exception?.InnerException;

    /// <summary>Fills the connection from the kernel's INIT, lets the file system adjust it, and builds the reply.</summary>
    public FuseInitOut Negotiate(in FuseInitIn a, LowLevelFileSystem fs)
    {
        var c = Connection;
        c.KernelMajor = a.Major;
        c.KernelMinor = a.Minor;
        c.ProtocolMinor = Math.Min(a.Minor, FuseDispatcher.ProtocolMinor);
        var offered = (InitFlags)a.Flags;
        if ((offered & InitFlags.InitExt) != 0) offered |= (InitFlags)((ulong)a.Flags2 << 32);
        c.Offered = offered;
        c.MaxReadahead = a.MaxReadahead;
        c.MaxWrite = (uint)(Pool.InSize - 4096);
        c.MaxPages = (ushort)(c.MaxWrite / PageSize);
        c.Want = DefaultWant(fs) | _options.ExtraCapabilities;
        if (_options.UseIoUring && !IsCuse)
        {
            IoUringRefusal = Transport.IoUring.UringHost.WhyUnavailable();
            if (IoUringRefusal is null) c.Want |= InitFlags.OverIoUring;
        }

        fs.Init(c);

        // The buffers are sized already: the file system may lower max_write, not raise it.
        c.MaxWrite = Math.Clamp(c.MaxWrite, 4096u, (uint)(Pool.InSize - 4096));
        // max_pages (in the kernel's pages) bounds READ sizes: never more than the reply buffer holds.
        c.MaxPages = (ushort)Math.Clamp((uint)c.MaxPages, 1u, (uint)(Pool.OutSize - 4096) / PageSize);
        var negotiated = c.Want & offered;
        if ((negotiated & InitFlags.Passthrough) != 0 && (negotiated & InitFlags.WritebackCache) != 0)
        {
            LogPassthroughDropped(_logger);
            negotiated &= ~InitFlags.Passthrough;
        }
        // Once io_uring is negotiated the kernel holds every request until a ring is registered: never ask for it
        // unless the session will register one (a file system's Init or ExtraCapabilities cannot).
        bool ringPossible = _options.UseIoUring && !IsCuse && IoUringRefusal is null;
        if (!ringPossible) negotiated &= ~InitFlags.OverIoUring;
        else if ((negotiated & InitFlags.OverIoUring) == 0)
            IoUringRefusal = (offered & InitFlags.OverIoUring) == 0 ? "the kernel did not offer FUSE_OVER_IO_URING" : "the file system's Init removed FUSE_OVER_IO_URING";
        // flags2 only reaches the kernel with INIT_EXT; the kernel offers high bits only together with it.
        if ((ulong)negotiated >> 32 != 0) negotiated |= InitFlags.InitExt;
        c.Negotiated = negotiated;
        c.MaxRead = Math.Min(_options.Mount.MaxRead ?? uint.MaxValue, (negotiated & InitFlags.MaxPages) != 0 ? c.MaxPages * PageSize : 32 * PageSize);

        var reply = new FuseInitOut
        {
            Major = FuseDispatcher.ProtocolMajor,
            Minor = FuseDispatcher.ProtocolMinor,
            MaxReadahead = Math.Min(c.MaxReadahead, a.MaxReadahead),
            Flags = (uint)negotiated,
            MaxBackground = c.MaxBackground,
            CongestionThreshold = c.CongestionThreshold,
            MaxWrite = c.MaxWrite,
            TimeGran = c.TimeGranularity,
            MaxPages = c.MaxPages,
        };
        if ((negotiated & InitFlags.InitExt) != 0) reply.Flags2 = (uint)((ulong)negotiated >> 32);
        if ((negotiated & InitFlags.Passthrough) != 0) reply.MaxStackDepth = c.MaxStackDepth;
        LogInit(_logger, c.ToString());
        return reply;
    }

    /// <summary>Capabilities asked for unless the file system changes <see cref="FuseConnection.Want"/>.</summary>
    private static InitFlags DefaultWant(LowLevelFileSystem fs)
    {
        var want = InitFlags.AsyncRead | InitFlags.BigWrites | InitFlags.AutoInvalData
            | InitFlags.AsyncDio | InitFlags.ParallelDirops | InitFlags.MaxPages | InitFlags.HasIoctlDir
            | InitFlags.SetxattrExt | InitFlags.InitExt | InitFlags.DoReaddirplus | InitFlags.ReaddirplusAuto
            | InitFlags.DirectIoAllowMmap | InitFlags.HasExpireOnly | InitFlags.CreateSuppGroup;
        // CREATE_SUPP_GROUP only adds the caller's membership of the parent's group to creating requests
        // (FuseContext.IsInGroup reads it). Not HANDLE_KILLPRIV(_V2): then the kernel clears suid/sgid itself
        // (with a SETATTR) on writes, truncates and chown by unprivileged callers, instead of leaving it to every
        // file system; file systems that check permissions themselves ask for V2 (see Permissions).
        // Atomic O_TRUNC only as declared: a file system that ignores the open flags would keep the old bytes.
        if (fs.TruncatesOnOpen) want |= InitFlags.AtomicOTrunc;
        // Locks only as declared: a kind handed to a file system that does not serve it would fail for every client.
        var locks = fs.ServedLocks;
        if ((locks & LockKinds.Posix) != 0) want |= InitFlags.PosixLocks;
        if ((locks & LockKinds.Flock) != 0) want |= InitFlags.FlockLocks;
        return want;
    }

    public void RunDestroy()
    {
        if (Interlocked.Exchange(ref _destroyed, 1) != 0) return;
        try
        {
            FileSystem.Destroy();
        }
        catch (Exception e)
        {
            LogDestroyFailed(_logger, e);
        }
    }

    /// <summary>
    /// Serves requests from <paramref name="channel"/> on the calling thread until the connection ends
    /// (ENODEV after unmount, end of stream on a socket, or <paramref name="stopFd"/> becoming readable).
    /// Returns why it stopped.
    /// </summary>
    /// <param name="channel">The fd to read requests from and answer them on.</param>
    /// <param name="stopFd">An eventfd that stops the loop, for channels no unmount can wake (CUSE); -1 for none.</param>
    public string RunWorker(FuseChannel channel, int stopFd = -1)
    {
        if (Pending.Acquire(channel, stopFd) is { } notStarted) return notStarted;
        // The worker's own read buffer (max_write + 4 KiB, as the kernel demands) and request object; both
        // are kept across requests that complete synchronously, so the hot path touches neither the pool nor
        // the pending limit.
        var readBuffer = Pool.RentReadBuffer();
        FuseRequest? request = Rent(channel);
        try
        {
            while (true)
            {
                if (stopFd >= 0 && WaitReadable(channel, stopFd) is { } stopped) return stopped;
                int n = channel.Read(readBuffer);
                if (n < 0)
                {
                    int errno = -n;
                    // ENOENT: the request was aborted between poll and read; EINTR/EAGAIN: try again.
                    if (errno is 2 or 4 or 11) continue;
                    return errno == Errno.ENODEV.Value ? "unmounted" : $"read failed: {new Errno(errno)}";
                }
                if (n == 0) return "end of stream";
                channel.RequestsRead++;
                if (!request.Load(readBuffer, n))
                {
                    LogShortRead(_logger, n);
                    continue;
                }
                var pending = Dispatcher.DispatchAsync(request);
                if (pending.IsCompleted)
                {
                    pending.GetAwaiter().GetResult();
                    continue;
                }
                // The handler went asynchronous: it keeps the request object and its slot (and the read buffer
                // if it is served in place); the worker takes another of each before reading again.
                if (request.HoldsReadBuffer) readBuffer = Pool.RentReadBuffer();
                Interlocked.Increment(ref _inFlight);
                _ = RecycleWhenDone(pending, request);
                request = null;
                if (Pending.Acquire(channel, stopFd) is { } closed) return closed;
                request = Rent(channel);
            }
        }
        finally
        {
            // A request served in place in the read buffer hands it back itself: never return it twice.
            bool handedBack = false;
            if (request is not null)
            {
                handedBack = request.HoldsReadBuffer;
                Pool.Return(request);
                Pending.Release();
            }
            if (!handedBack) Pool.ReturnReadBuffer(readBuffer);
        }
    }

    /// <summary>Blocks until the channel has a request (null) or the stop fd fired (the reason).</summary>
    private unsafe string? WaitReadable(FuseChannel channel, int stopFd)
    {
        var fds = stackalloc Libc.PollFd[2];
        while (true)
        {
            fds[0] = new Libc.PollFd { Fd = channel.Fd, Events = Libc.POLLIN };
            fds[1] = new Libc.PollFd { Fd = stopFd, Events = Libc.POLLIN };
            if (Libc.poll(fds, 2, -1) < 0)
            {
                if (Libc.LastErrno == 4) continue;
                return $"poll failed: {Errno.Last}";
            }
            if (fds[1].REvents != 0) return "stopped";
            return (fds[0].REvents & Libc.POLLIN) != 0 ? null : WhyClosed(channel);
        }
    }

    /// <summary>
    /// After poll reported an error or hang-up without data: one read says which (ENODEV once a FUSE mount is
    /// gone, end of stream on a socket). It cannot block or take a request: nothing is readable.
    /// </summary>
    private string WhyClosed(FuseChannel channel)
    {
        // A whole read buffer: /dev/fuse refuses shorter reads (EINVAL) before it looks at the connection.
        var buffer = Pool.RentReadBuffer();
        try
        {
            int n = channel.Read(buffer);
            return n == 0 ? "end of stream" : n == -Errno.ENODEV.Value ? "unmounted" : "channel closed";
        }
        finally
        {
            Pool.ReturnReadBuffer(buffer);
        }
    }

    private FuseRequest Rent(FuseChannel channel)
    {
        var request = Pool.Rent();
        request.Sink = channel;
        request.WriteFailed ??= (r, errno) => LogReplyFailed(_logger, OpcodeTable.NameOf(r.Opcode), r.Header.Unique, errno.ToString());
        return request;
    }

    /// <summary>A ring queue's handler went asynchronous: counted with the others for <see cref="DrainHandlers"/>.</summary>
    public void BeginAsyncHandler() => Interlocked.Increment(ref _inFlight);

    /// <summary>That handler finished.</summary>
    public void EndAsyncHandler() => Interlocked.Decrement(ref _inFlight);

    private async Task RecycleWhenDone(ValueTask pending, FuseRequest request)
    {
        try
        {
            await pending.ConfigureAwait(false);
        }
        finally
        {
            Pool.Return(request);
            Interlocked.Decrement(ref _inFlight);
            Pending.Release();
        }
    }

    /// <summary>
    /// After the last worker stopped: interrupts the handlers still running asynchronously and waits up to
    /// <paramref name="timeout"/> for them, so that Destroy never runs under a handler (which may be using
    /// memory Destroy frees). Their replies go nowhere: the connection is gone.
    /// </summary>
    public bool DrainHandlers(TimeSpan timeout)
    {
        Pool.InterruptAll();
        return SpinWait.SpinUntil(() => Volatile.Read(ref _inFlight) == 0, timeout);
    }

    public unsafe BackingFile OpenBackingFile(SafeFileHandle file)
    {
        var channel = ControlChannel ?? throw new InvalidOperationException("The session has no device channel.");
        if (!Connection.Has(InitFlags.Passthrough))
            throw new FuseException(Errno.EOPNOTSUPP, "Passthrough was not negotiated with the kernel.");
        bool added = false;
        file.DangerousAddRef(ref added);
        try
        {
            var map = new BackingMap { Fd = (int)file.DangerousGetHandle() };
            int id = Libc.ioctl(channel.Fd, FuseIoctl.BackingOpen, &map);
            if (id < 0)
            {
                var errno = Errno.Last;
                throw new FuseException(errno, $"FUSE_DEV_IOC_BACKING_OPEN failed: {errno}" + (errno == Errno.EPERM ? " (needs CAP_SYS_ADMIN)" : ""));
            }
            return new BackingFile(this, id);
        }
        finally
        {
            if (added) file.DangerousRelease();
        }
    }

    internal unsafe void CloseBackingFile(int id)
    {
        var channel = ControlChannel;
        if (channel is null || channel.Fd < 0) return;
        uint value = (uint)id;
        if (Libc.ioctl(channel.Fd, FuseIoctl.BackingClose, &value) < 0)
            LogBackingCloseFailed(_logger, id, Errno.Last.ToString());
    }

    public void LogUnsupportedKernel(uint major, uint minor) => LogKernelTooOld(_logger, major, minor);

    public void LogUnexpectedInit(string opcode) => LogInitRefused(_logger, opcode, IsCuse ? "CUSE" : "FUSE", Initialized ? "live" : "new");

    private struct BackingMap
    {
        public int Fd;
        public uint Flags;
        public ulong Padding;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Refused {Opcode} on a {Kind} channel ({State} connection): answered EPROTO")]
    private static partial void LogInitRefused(ILogger logger, string opcode, string kind, string state);

    [LoggerMessage(Level = LogLevel.Information, Message = "FUSE connection: {Description}")]
    private static partial void LogInit(ILogger logger, string description);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Passthrough cannot be combined with writeback cache; passthrough disabled")]
    private static partial void LogPassthroughDropped(ILogger logger);

    [LoggerMessage(Level = LogLevel.Error, Message = "Kernel protocol {Major}.{Minor} is not supported (need 7.12 or later)")]
    private static partial void LogKernelTooOld(ILogger logger, uint major, uint minor);

    [LoggerMessage(Level = LogLevel.Error, Message = "Destroy handler failed")]
    private static partial void LogDestroyFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Ignored a {Length}-byte read: shorter than a request header")]
    private static partial void LogShortRead(ILogger logger, int length);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reply to {Opcode} (unique {Unique}) was refused by the kernel: {Errno}")]
    private static partial void LogReplyFailed(ILogger logger, string opcode, ulong unique, string errno);

    [LoggerMessage(Level = LogLevel.Warning, Message = "FUSE_DEV_IOC_BACKING_CLOSE {Id} failed: {Errno}")]
    private static partial void LogBackingCloseFailed(ILogger logger, int id, string errno);
}
