using System.Collections.Concurrent;
using DirectFuse.Interop;
using DirectFuse.Transport.IoUring;
using Microsoft.Extensions.Logging;
using static DirectFuse.Transport.IoUring.IoUringNative;

namespace DirectFuse.Session.Uring;

/// <summary>
/// One FUSE ring queue (qid = a CPU number): its own io_uring, its entries, and the thread that owns both. The
/// thread is the ring's only submitter: it serves each delivered request with the session's dispatcher and
/// answers it with COMMIT_AND_FETCH into the same entry. A handler that goes asynchronous keeps its entry; when
/// it finishes, it hands the entry back through a queue and an eventfd the ring also waits on.
/// </summary>
internal sealed unsafe partial class FuseRingQueue
{
    /// <summary>Entries registered at start.</summary>
    public const int InitialDepth = 8;
    // Entries a queue may grow to while handlers hold entries (each is max_write of mostly untouched memory): as
    // many as FuseSessionOptions.MaxPendingRequests, since all the waiting callers may run on one CPU, and a queue
    // without a free entry leaves every other caller on that CPU waiting behind them.
    private readonly int _maxDepth;
    // Entries kept with the kernel even while handlers wait: below this many, another is registered.
    private const int MinIdle = 2;
    private const uint CmdRegister = 1, CmdCommitAndFetch = 2;
    private const ulong WakeTag = ulong.MaxValue, TimeoutTag = ulong.MaxValue - 1, KickTickTag = ulong.MaxValue - 2;
    private const int ENOENT = 2, EINTR = 4, EAGAIN = 11, EBUSY = 16, ETIME = 62, ECANCELED = 125, ENOTCONN = 107, ECONNABORTED = 103;
    private static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(5);

    private readonly FuseRingTransport _transport;
    private readonly FuseSessionCore _core;
    private readonly ILogger _logger;
    private readonly List<FuseRingEntry> _entries = [];
    private readonly ConcurrentQueue<FuseRingEntry> _handedBack = new();
    private readonly Lock _wakeLock = new();
    private IoUringRing? _ring;
    private int _eventFd = -1;
    private int _wakePending;
    // Native scratch: the eventfd's 8-byte counter (read by the ring) and a timespec for stop timeouts.
    private byte* _scratch;
    private int _held, _inKernel;
    private bool _stopping;
    private DateTime _stopDeadline;
    private volatile bool _stopRequested;
    // Requests the kernel may have queued for want of a free entry (see FuseRingKicker): set when a handler
    // keeps an entry while few entries wait in the kernel, cleared once a kick fetches nothing more.
    private bool _maybeQueued, _tickArmed, _quietTick;
    private long _servedAtTick, _servedAtKick;
    private int _kicksOutstanding, _kicksDone, _kicksSeen, _staleTicks;
    private const int StaleTicks = 3;

    public FuseRingQueue(FuseRingTransport transport, FuseSessionCore core, int qid, ILogger logger)
    {
        _transport = transport;
        _core = core;
        Qid = qid;
        _logger = logger;
        _maxDepth = Math.Max(InitialDepth, transport.MaxEntriesPerQueue);
    }

    /// <summary>The queue id: the CPU whose callers it serves.</summary>
    public int Qid { get; }

    /// <summary>Requests this queue has served (written by its thread only; a statistic).</summary>
    public long RequestsServed;

    /// <summary>
    /// The queue thread: pins itself, sets up the ring and its entries, waits for the transport's decision, then
    /// registers and serves until the connection ends. Returns why it stopped.
    /// </summary>
    public string Run(int deviceFd)
    {
        int pin = UringHost.PinCurrentThread(Qid);
        if (pin != 0) LogPinFailed(_logger, Qid, new Errno(pin).ToString());
        string? setupError;
        try
        {
            setupError = Setup(deviceFd);
        }
        catch (Exception e) when (e is OutOfMemoryException or IOException)
        {
            setupError = e.Message;
        }
        if (!_transport.ReportSetup(this, setupError))
        {
            Teardown();
            return setupError is null ? "io_uring not used" : "io_uring setup failed: " + setupError;
        }
        string? registerError = RegisterAll();
        _transport.ReportRegistered(this, registerError);
        if (registerError is not null)
        {
            Teardown();
            return "io_uring registration failed: " + registerError;
        }
        string reason;
        try
        {
            reason = Serve();
        }
        catch (Exception e)
        {
            // Requests of this CPU would wait forever for a queue nobody serves: end the connection instead.
            LogQueueFailed(_logger, e, Qid);
            _transport.Fail($"queue {Qid} failed: {e.Message}");
            reason = "io_uring queue failed: " + e.Message;
        }
        Teardown();
        return reason;
    }

    private string? Setup(int deviceFd)
    {
        _ring = IoUringRing.Create(64, (uint)Math.Min(2 * _maxDepth + 8, 65536), SetupSubmitAll, out int errno);
        if (_ring is null) return $"io_uring_setup: {new Errno(errno)}";
        // The device as fixed file 0 saves the fd lookup on every command; see FuseRingTransport.FixedFiles.
        int rc = _ring.RegisterFiles(_transport.FixedFiles(deviceFd));
        if (rc < 0) return $"IORING_REGISTER_FILES: {new Errno(-rc)}";
        _eventFd = Libc.eventfd(0, Libc.EFD_CLOEXEC);
        if (_eventFd < 0) return $"eventfd: {Errno.Last}";
        _scratch = (byte*)System.Runtime.InteropServices.NativeMemory.AllocZeroed(64);
        for (int i = 0; i < InitialDepth; i++) AddEntry();
        return null;
    }

    private FuseRingEntry AddEntry()
    {
        var request = _core.Pool.Rent();
        try
        {
            var entry = new FuseRingEntry(_entries.Count, _transport.PayloadSize, request);
            _entries.Add(entry);
            return entry;
        }
        catch
        {
            _core.Pool.Return(request);
            throw;
        }
    }

    /// <summary>Submits REGISTER for every entry and arms the wake-up read; an error comes back at once as a completion.</summary>
    private string? RegisterAll()
    {
        var ring = _ring!;
        foreach (var entry in _entries) QueueCommand(entry, CmdRegister);
        ArmWake();
        int rc = ring.SubmitAndWait(0);
        if (rc < 0) return $"io_uring_enter: {new Errno(-rc)}";
        // The kernel answers a successful REGISTER only when a request arrives; a refusal is completed at once.
        while (ring.TryPeek(out var cqe))
        {
            if (cqe.UserData != WakeTag && cqe.Res < 0)
            {
                ring.Advance();
                _entries[(int)cqe.UserData].State = RingEntryState.Dead;
                _inKernel--;
                return $"FUSE_IO_URING_CMD_REGISTER: {new Errno(-cqe.Res)}";
            }
            // Anything else (a request already delivered) is served by the loop.
            break;
        }
        return null;
    }

    private string Serve()
    {
        var ring = _ring!;
        while (true)
        {
            int rc = ring.SubmitAndWait(1);
            if (rc < 0 && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY)
                throw new IOException($"io_uring_enter: {new Errno(-rc)}");
            while (ring.TryPeek(out var cqe))
            {
                ring.Advance();
                Complete(cqe);
            }
            if (_stopRequested && !_stopping) BeginStop();
            if (_maybeQueued) FetchQueued();
            if (_stopping && (_inKernel == 0 && _held == 0 || DateTime.UtcNow > _stopDeadline))
                return _transport.ConnectionGone ? "unmounted" : "stopped";
        }
    }

    private void Complete(in Cqe cqe)
    {
        if (cqe.UserData == WakeTag)
        {
            Volatile.Write(ref _wakePending, 0);
            while (_handedBack.TryDequeue(out var entry))
            {
                _held--;
                Commit(entry);
            }
            if (!_stopping || _held > 0) ArmWake();
            return;
        }
        if (cqe.UserData == KickTickTag)
        {
            _tickArmed = false;
            // No delivery for a tick while entries are held: nothing commits, so nothing fetches what the kernel
            // queued. FetchQueued acts on it after this batch.
            _quietTick = RequestsServed == _servedAtTick;
            return;
        }
        if (cqe.UserData == TimeoutTag)
        {
            if (_stopping) ArmTimeout();
            return;
        }
        var e = _entries[(int)cqe.UserData];
        _inKernel--;
        if (cqe.Res == 0)
        {
            ServeEntry(e);
            return;
        }
        int errno = -cqe.Res;
        if (errno is EAGAIN or EINTR && !_stopping)
        {
            QueueCommand(e, e.LastCommand);
            return;
        }
        e.State = RingEntryState.Dead;
        if (errno is ENOTCONN or ECONNABORTED or ECANCELED)
        {
            // The connection is gone (unmount, abort): the kernel ends every entry this way.
            _transport.MarkConnectionGone();
            if (!_stopping) BeginStop();
            return;
        }
        // A commit the kernel could not match (ENOENT) loses the entry on its side; register it anew.
        LogCommandFailed(_logger, Qid, e.LastCommand == CmdRegister ? "REGISTER" : "COMMIT_AND_FETCH", new Errno(errno).ToString());
        if (!_stopping && errno != ENOTCONN && e.Reregistrations++ < 3) QueueCommand(e, CmdRegister);
    }

    private void ServeEntry(FuseRingEntry e)
    {
        RequestsServed++;
        var r = e.Request;
        if (!e.TakeRequest(out var delivered) || !r.Load(delivered))
        {
            LogBadDelivery(_logger, Qid);
            e.WriteEmptyReply(Errno.EIO);
            Commit(e);
            return;
        }
        var pending = _core.Dispatcher.DispatchAsync(r);
        if (pending.IsCompleted)
        {
            pending.GetAwaiter().GetResult();
            Commit(e);
            return;
        }
        // The handler waits (a lock, a device read): it keeps the entry until it answers.
        e.State = RingEntryState.Held;
        _held++;
        // Few entries left in the kernel: a burst may have outrun them, and what it queued waits for a commit.
        if (_inKernel <= MinIdle) _maybeQueued = true;
        _core.BeginAsyncHandler();
        _ = HandBackWhenDone(pending, e);
        if (!_stopping && _entries.Count - _held < MinIdle + 1 && _entries.Count < _maxDepth) Grow();
    }

    /// <summary>
    /// While the kernel may hold queued requests for this queue and handlers hold entries: kicks once the queue is
    /// quiet, again as long as a kick fetched something besides its own GETATTR, and once more when a kick has
    /// waited several quiet ticks (it was queued itself, behind a burst: a later kick's commit fetches it).
    /// </summary>
    private void FetchQueued()
    {
        if (_stopping || _held == 0 || _transport.Kicker is null)
        {
            // Nothing held: every delivered request is committed, and each commit fetches a queued one.
            _maybeQueued = false;
            return;
        }
        int outstanding = Volatile.Read(ref _kicksOutstanding);
        int done = Volatile.Read(ref _kicksDone);
        bool quiet = _quietTick;
        _quietTick = false;
        if (done != _kicksSeen)
        {
            _kicksSeen = done;
            _staleTicks = 0;
            if (outstanding == 0 && RequestsServed - _servedAtKick <= 1)
            {
                _maybeQueued = false; // the kick's commit found nothing queued
                return;
            }
            if (outstanding == 0) TryKick();
        }
        else if (quiet && (outstanding == 0 || ++_staleTicks >= StaleTicks && outstanding < FuseRingKicker.MaxThreads))
        {
            _staleTicks = 0;
            TryKick();
        }
        if (!_tickArmed) ArmKickTick();
    }

    /// <summary>
    /// Kicks when the kernel has a free entry of this queue for the kick's GETATTR: the entries queued for it are
    /// submitted first, and no delivery may be waiting unread (it could have taken the last free one).
    /// </summary>
    private void TryKick()
    {
        var ring = _ring!;
        int rc = ring.SubmitAndWait(0);
        if (rc < 0 && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY) throw new IOException($"io_uring_enter: {new Errno(-rc)}");
        if (_inKernel == 0 || ring.TryPeek(out _)) return; // the next quiet tick tries again
        _servedAtKick = RequestsServed;
        Interlocked.Increment(ref _kicksOutstanding);
        _transport.Kicker!.Request(this);
    }

    /// <summary>The kicker's GETATTR was answered (or failed): the queue thread looks at what it fetched.</summary>
    public void KickDone()
    {
        Interlocked.Increment(ref _kicksDone);
        Interlocked.Decrement(ref _kicksOutstanding);
        Wake();
    }

    private void ArmKickTick()
    {
        // struct __kernel_timespec at scratch + 32: 20 ms without a delivery counts as quiet.
        *(long*)(_scratch + 32) = 0;
        *(long*)(_scratch + 40) = 20_000_000;
        byte* sqe = NextSqe();
        sqe[0] = OpTimeout;
        *(ulong*)(sqe + 16) = (ulong)(_scratch + 32);
        *(uint*)(sqe + 24) = 1;
        *(ulong*)(sqe + 32) = KickTickTag;
        _tickArmed = true;
        _servedAtTick = RequestsServed;
    }

    private void Grow()
    {
        try
        {
            QueueCommand(AddEntry(), CmdRegister);
        }
        catch (OutOfMemoryException)
        {
            LogGrowFailed(_logger, Qid, _entries.Count);
        }
    }

    /// <summary>Wakes the queue thread (from any thread) to take back entries or to stop.</summary>
    public void Wake()
    {
        if (Interlocked.Exchange(ref _wakePending, 1) != 0) return;
        ulong one = 1;
        lock (_wakeLock)
            if (_eventFd >= 0) Libc.write(_eventFd, (byte*)&one, sizeof(ulong));
    }

    /// <summary>Asks the queue to stop: the connection ended (or never came up); called from any thread.</summary>
    public void RequestStop()
    {
        _stopRequested = true;
        Volatile.Write(ref _wakePending, 0);
        Wake();
    }

    private void Commit(FuseRingEntry e)
    {
        // A request that takes no reply (NOTIFY_REPLY) still gives its entry back: an empty commit does that.
        if (!e.ReplyWritten) e.WriteEmptyReply(Errno.Ok);
        e.Request.Release();
        if (_stopping && _transport.ConnectionGone)
        {
            e.State = RingEntryState.Dead;
            return;
        }
        QueueCommand(e, CmdCommitAndFetch);
    }

    private void QueueCommand(FuseRingEntry e, uint command)
    {
        byte* sqe = NextSqe();
        sqe[0] = OpUringCmd;
        sqe[1] = SqeFixedFile; // fd field 0 names fixed file 0: the device
        *(uint*)(sqe + 8) = command; // cmd_op
        if (command == CmdRegister)
        {
            *(ulong*)(sqe + 16) = (ulong)e.IoVecs; // addr: iov[0] header, iov[1] payload
            *(uint*)(sqe + 24) = 2;
        }
        *(ulong*)(sqe + 32) = (ulong)e.Index; // user_data
        // struct fuse_uring_cmd_req in the command area: flags, commit_id, qid.
        *(ulong*)(sqe + SqeCmdOffset + 8) = command == CmdCommitAndFetch ? e.CommitId : 0;
        *(ushort*)(sqe + SqeCmdOffset + 16) = (ushort)Qid;
        e.LastCommand = command;
        e.State = RingEntryState.InKernel;
        _inKernel++;
    }

    private void ArmWake()
    {
        byte* sqe = NextSqe();
        sqe[0] = OpRead;
        *(int*)(sqe + 4) = _eventFd;
        *(ulong*)(sqe + 16) = (ulong)_scratch;
        *(uint*)(sqe + 24) = sizeof(ulong);
        *(ulong*)(sqe + 32) = WakeTag;
    }

    private void ArmTimeout()
    {
        // struct __kernel_timespec at scratch + 16: 200 ms, so a stop that waits for the kernel rechecks its deadline.
        *(long*)(_scratch + 16) = 0;
        *(long*)(_scratch + 24) = 200_000_000;
        byte* sqe = NextSqe();
        sqe[0] = OpTimeout;
        *(ulong*)(sqe + 16) = (ulong)(_scratch + 16);
        *(uint*)(sqe + 24) = 1;
        *(ulong*)(sqe + 32) = TimeoutTag;
    }

    private const byte OpTimeout = 11;

    /// <summary>The next submission slot, flushing the filled ones first when all are taken.</summary>
    private byte* NextSqe()
    {
        var ring = _ring!;
        byte* sqe = ring.NextSqe();
        while (sqe is null)
        {
            int rc = ring.SubmitAndWait(0);
            if (rc < 0 && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY) throw new IOException($"io_uring_enter: {new Errno(-rc)}");
            sqe = ring.NextSqe();
        }
        return sqe;
    }

    private void BeginStop()
    {
        _stopping = true;
        _stopDeadline = DateTime.UtcNow + StopGrace;
        // Handlers still waiting would keep their entries (and this thread) forever: cancel them.
        foreach (var e in _entries)
            if (e.State == RingEntryState.Held && e.Request.ActiveUnique is var unique and not 0)
                e.Request.TryInterrupt(unique);
        ArmTimeout();
    }

    /// <summary>
    /// Closes the ring (the kernel cancels what is still registered) and frees what nothing can touch any more.
    /// An entry a handler still holds, or one the kernel never ended, keeps its memory: leaked rather than freed
    /// under someone.
    /// </summary>
    private void Teardown()
    {
        _ring?.Dispose();
        lock (_wakeLock)
        {
            if (_eventFd >= 0) Libc.close(_eventFd);
            _eventFd = -1;
        }
        int leaked = 0;
        foreach (var e in _entries)
        {
            if (e.State is RingEntryState.Dead or RingEntryState.New)
            {
                e.Free();
                _core.Pool.Return(e.Request);
            }
            else leaked++;
        }
        if (leaked > 0) LogEntriesLeaked(_logger, Qid, leaked);
        else if (_scratch is not null)
        {
            System.Runtime.InteropServices.NativeMemory.Free(_scratch);
            _scratch = null;
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "io_uring queue {Qid}: could not pin its thread to CPU {Qid} ({Errno}); it runs unpinned")]
    private static partial void LogPinFailed(ILogger logger, int qid, string errno);

    [LoggerMessage(Level = LogLevel.Critical, Message = "io_uring queue {Qid} failed; aborting the connection so that no request waits for it")]
    private static partial void LogQueueFailed(ILogger logger, Exception exception, int qid);

    [LoggerMessage(Level = LogLevel.Warning, Message = "io_uring queue {Qid}: {Command} failed: {Errno}")]
    private static partial void LogCommandFailed(ILogger logger, int qid, string command, string errno);

    [LoggerMessage(Level = LogLevel.Warning, Message = "io_uring queue {Qid}: a request whose sizes do not add up; answered EIO")]
    private static partial void LogBadDelivery(ILogger logger, int qid);

    [LoggerMessage(Level = LogLevel.Warning, Message = "io_uring queue {Qid}: no memory for more than {Count} entries")]
    private static partial void LogGrowFailed(ILogger logger, int qid, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "io_uring queue {Qid}: {Count} entries still held at teardown; their memory is left allocated")]
    private static partial void LogEntriesLeaked(ILogger logger, int qid, int count);
}
