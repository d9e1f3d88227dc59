using DirectFuse.Session;
using DirectFuse.Transport.IoUring;
using Microsoft.Extensions.Logging;
using static DirectFuse.Transport.IoUring.IoUringNative;

namespace DirectFuse.Session.Uring;

/// <summary>
/// FUSE over io_uring for one connection: a <see cref="FuseRingQueue"/> per possible CPU, started after the INIT
/// reply that negotiated FUSE_OVER_IO_URING. Either every queue registers and the kernel switches to the ring,
/// or none does and the kernel is told to stay on /dev/fuse: once io_uring is negotiated the kernel holds every
/// request until the ring is complete, so a half-made ring must never be left behind.
/// </summary>
/// <remarks>
/// <para>
/// A queue thread serves its CPU's requests in turn: a handler that blocks it (instead of going asynchronous)
/// stalls every later request from that CPU until it returns. An abort still ends them all (ECONNABORTED), also
/// the ones held in entries, so the bounded shutdown needs nothing of the ring (docs/kernel-facts.md, io_uring).
/// Requests the kernel queued while a queue had no free entry are fetched by <see cref="FuseRingKicker"/>.
/// </para>
/// <para>
/// After SIGKILL the connection ends a few ms later than on /dev/fuse (the kernel frees the rings from a worker);
/// auto_unmount still works, see <see cref="FixedFiles"/>.
/// </para>
/// </remarks>
internal sealed partial class FuseRingTransport
{
    private static readonly TimeSpan SetupTimeout = TimeSpan.FromSeconds(10);
    private readonly FuseSessionCore _core;
    private readonly ILogger _logger;
    private readonly Action<string> _abortConnection;
    private readonly FuseRingQueue[] _queues;
    private readonly CountdownEvent _setUp;
    private readonly CountdownEvent _registered;
    private readonly ManualResetEventSlim _decided = new();
    private volatile bool _go;
    private volatile string? _failure;
    private volatile bool _connectionGone;
    private readonly int _autoUnmountSocket;

    private FuseRingTransport(FuseSessionCore core, int queues, int payloadSize, int maxEntriesPerQueue, int autoUnmountSocket, Action<string> abortConnection, ILogger logger)
    {
        _autoUnmountSocket = autoUnmountSocket;
        MaxEntriesPerQueue = Math.Max(1, maxEntriesPerQueue);
        _core = core;
        _logger = logger;
        _abortConnection = abortConnection;
        PayloadSize = payloadSize;
        _queues = new FuseRingQueue[queues];
        for (int i = 0; i < queues; i++) _queues[i] = new FuseRingQueue(this, core, i, logger);
        _setUp = new CountdownEvent(queues);
        _registered = new CountdownEvent(queues);
    }

    /// <summary>Bytes of every entry's payload buffer.</summary>
    public int PayloadSize { get; }

    /// <summary>The most entries one queue registers while handlers hold them (FuseSessionOptions.MaxPendingRequests).</summary>
    public int MaxEntriesPerQueue { get; }

    /// <summary>Fetches requests the kernel queued while a queue had no free entry (null until started).</summary>
    public FuseRingKicker? Kicker { get; private set; }

    /// <summary>Number of queues (possible CPUs).</summary>
    public int QueueCount => _queues.Length;

    /// <summary>True once the kernel ended the connection (ENOTCONN on a ring, ENODEV on /dev/fuse).</summary>
    public bool ConnectionGone => _connectionGone;

    /// <summary>Requests served through the rings so far.</summary>
    public long RequestsServed
    {
        get
        {
            long sum = 0;
            foreach (var q in _queues) sum += Volatile.Read(ref q.RequestsServed);
            return sum;
        }
    }

    /// <summary>
    /// Starts the queues on <paramref name="workers"/> and waits until they serve. Returns the transport, or null
    /// with <paramref name="reason"/> when the session stays on /dev/fuse (then the kernel has been told so).
    /// Throws when io_uring was negotiated but neither works nor can be turned off: the caller must end the mount.
    /// </summary>
    public static FuseRingTransport? Start(FuseSessionCore core, int deviceFd, int autoUnmountSocket, string mountPoint, WorkerThreads workers, Action<string> abortConnection, ILogger logger, out string reason)
    {
        var c = core.Connection;
        // The kernel refuses buffers smaller than max(8 KiB, max_write, max_pages pages); a reply may also be as
        // large as the engine's own reply buffer.
        long needed = Math.Max(Math.Max(8192L, c.MaxWrite), (long)c.MaxPages * Environment.SystemPageSize);
        int payloadSize = (int)Math.Max(needed, core.Pool.OutSize - Protocol.FuseOutHeader.Size);
        var transport = new FuseRingTransport(core, UringHost.PossibleCpus(), payloadSize, core.MaxPendingRequests, autoUnmountSocket, abortConnection, logger);
        transport.Kicker = new FuseRingKicker(mountPoint, logger);
        foreach (var queue in transport._queues) workers.Start(() => queue.Run(deviceFd), $"fuse-ring-{queue.Qid}");

        bool allSetUp = transport._setUp.Wait(SetupTimeout) && transport._failure is null;
        transport._go = allSetUp;
        transport._decided.Set();
        if (!allSetUp)
        {
            reason = transport._failure ?? $"the ring queues were not set up within {SetupTimeout.TotalSeconds:0}s";
            if (!DisableOnKernel(deviceFd, logger))
                throw new MountException($"FUSE over io_uring was negotiated but cannot be used or turned off ({reason})");
            return null;
        }
        // REGISTER is answered at once when refused; a thread stuck in io_uring_enter is not a decision either way.
        transport._registered.Wait(SetupTimeout);
        if (transport._failure is { } failed)
        {
            reason = failed;
            // A refused REGISTER already turned io_uring off for the connection; saying it again is harmless.
            DisableOnKernel(deviceFd, logger);
            transport.StopAll();
            return null;
        }
        reason = $"{transport.QueueCount} queues of {FuseRingQueue.InitialDepth} entries, {payloadSize / 1024} KiB payload each";
        return transport;
    }

    /// <summary>
    /// The files every queue's ring registers: the device as fixed file 0 and, under auto_unmount, the socket
    /// fusermount3 watches as fixed file 1.
    /// </summary>
    /// <remarks>
    /// After SIGKILL the rings outlive the process: the kernel frees them from a worker shortly after the exit,
    /// and only then does the device's last reference go and the connection end (docs/kernel-facts.md, io_uring). fusermount3 unmounts only if
    /// opening the mount point fails with ENOTCONN when its socket closes, so the socket must not close before
    /// the device. Registered in the same tables, both are released together: the kernel puts a ring's fixed
    /// files from the highest index down and runs deferred file releases newest first, so the device (index 0)
    /// is released before the socket.
    /// </remarks>
    public ReadOnlySpan<int> FixedFiles(int deviceFd) => _autoUnmountSocket >= 0 ? new[] { deviceFd, _autoUnmountSocket } : new[] { deviceFd };

    /// <summary>A queue is set up (or failed, with <paramref name="error"/>); blocks until the transport decides. True: register.</summary>
    public bool ReportSetup(FuseRingQueue queue, string? error)
    {
        if (error is not null) _failure ??= $"queue {queue.Qid}: {error}";
        _setUp.Signal();
        _decided.Wait();
        return _go && error is null;
    }

    /// <summary>A queue's REGISTER commands were submitted (and refused, with <paramref name="error"/>).</summary>
    public void ReportRegistered(FuseRingQueue queue, string? error)
    {
        if (error is not null) _failure ??= $"queue {queue.Qid}: {error}";
        _registered.Signal();
    }

    /// <summary>A queue cannot serve any more: end the connection, so that no caller waits for it forever.</summary>
    public void Fail(string reason)
    {
        _failure ??= reason;
        MarkConnectionGone();
        _abortConnection(reason);
        StopAll();
    }

    /// <summary>The kernel ended the connection: every queue winds down.</summary>
    public void MarkConnectionGone()
    {
        if (_connectionGone) return;
        _connectionGone = true;
        StopAll();
    }

    private void StopAll()
    {
        Kicker?.Dispose();
        foreach (var q in _queues) q.RequestStop();
    }

    /// <summary>
    /// Tells the kernel not to wait for a ring: a REGISTER for a queue that cannot exist fails, and a failed
    /// REGISTER clears the connection's io_uring flag and wakes the callers it held. Returns false if even that
    /// cannot be sent (no io_uring at all), when only ending the connection unblocks them.
    /// </summary>
    public static unsafe bool DisableOnKernel(int deviceFd, ILogger logger)
    {
        using var ring = IoUringRing.Create(2, 4, 0, out int errno);
        if (ring is null)
        {
            LogDisableFailed(logger, $"io_uring_setup: {new Errno(errno)}");
            return false;
        }
        byte* sqe = ring.NextSqe();
        sqe[0] = OpUringCmd;
        *(int*)(sqe + 4) = deviceFd;
        *(uint*)(sqe + 8) = 1; // FUSE_IO_URING_CMD_REGISTER
        *(ushort*)(sqe + SqeCmdOffset + 16) = ushort.MaxValue; // qid: beyond every possible CPU
        int rc;
        do rc = ring.SubmitAndWait(1); while (rc == -4);
        if (rc < 0 || !ring.TryPeek(out var cqe))
        {
            LogDisableFailed(logger, rc < 0 ? $"io_uring_enter: {new Errno(-rc)}" : "no completion");
            return false;
        }
        ring.Advance();
        return cqe.Res < 0;
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Could not tell the kernel to stop waiting for the io_uring queues: {Reason}")]
    private static partial void LogDisableFailed(ILogger logger, string reason);
}
