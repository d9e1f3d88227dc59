using DirectFuse.Interop;
using static DirectFuse.Transport.IoUring.IoUringNative;

namespace DirectFuse.Transport.IoUring;

/// <summary>
/// One io_uring instance with 128-byte submission entries, used by a single thread: it fills entries, submits
/// them and reaps completions. Nothing here is thread-safe; the owner serialises every call.
/// </summary>
internal sealed unsafe class IoUringRing : IDisposable
{
    private int _fd;
    private nint _ringMap, _cqMap, _sqeMap;
    private nint _ringMapSize, _cqMapSize, _sqeMapSize;
    private readonly uint* _sqHead, _sqTail, _sqArray, _cqHead, _cqTail;
    private readonly uint _sqMask, _cqMask;
    private readonly byte* _sqes;
    private readonly Cqe* _cqes;
    // Entries filled but not yet made visible to the kernel (the shared tail is written at submit).
    private uint _localTail;
    private uint _published;

    private IoUringRing(int fd, in Params p, nint ringMap, nint ringSize, nint cqMap, nint cqSize, nint sqeMap, nint sqeSize)
    {
        _fd = fd;
        (_ringMap, _ringMapSize, _cqMap, _cqMapSize, _sqeMap, _sqeMapSize) = (ringMap, ringSize, cqMap, cqSize, sqeMap, sqeSize);
        byte* sq = (byte*)ringMap, cq = (byte*)(cqMap != 0 ? cqMap : ringMap);
        _sqHead = (uint*)(sq + p.SqOff.Head);
        _sqTail = (uint*)(sq + p.SqOff.Tail);
        _sqMask = *(uint*)(sq + p.SqOff.RingMask);
        _sqArray = (uint*)(sq + p.SqOff.Array);
        _cqHead = (uint*)(cq + p.CqOff.Head);
        _cqTail = (uint*)(cq + p.CqOff.Tail);
        _cqMask = *(uint*)(cq + p.CqOff.RingMask);
        _cqes = (Cqe*)(cq + p.CqOff.Cqes);
        _sqes = (byte*)sqeMap;
        SqEntries = p.SqEntries;
        // Slot i of the indirection array always names entry i: entries are used in ring order.
        for (uint i = 0; i < p.SqEntries; i++) _sqArray[i] = i;
        _localTail = _published = Volatile.Read(ref *_sqTail);
    }

    /// <summary>The ring's fd.</summary>
    public int Fd => _fd;

    /// <summary>Submission slots.</summary>
    public uint SqEntries { get; }

    /// <summary>Entries filled since the last submit.</summary>
    public uint Unsubmitted => _localTail - _published;

    /// <summary>
    /// Sets up a ring with 128-byte entries and maps it. Returns null with <paramref name="errno"/> set when the
    /// kernel refuses (no io_uring, io_uring disabled by sysctl, a flag it does not know, out of memory).
    /// </summary>
    public static IoUringRing? Create(uint entries, uint cqEntries, uint extraFlags, out int errno)
    {
        var p = new Params { Flags = SetupSqe128 | SetupCqSize | extraFlags, CqEntries = cqEntries };
        int fd = IoUringNative.Setup(entries, &p);
        if (fd < 0)
        {
            errno = -fd;
            return null;
        }
        nint sqSize = (nint)(p.SqOff.Array + p.SqEntries * sizeof(uint));
        nint cqSize = (nint)(p.CqOff.Cqes + p.CqEntries * (uint)sizeof(Cqe));
        bool single = (p.Features & FeatSingleMmap) != 0;
        nint ringSize = single ? Math.Max(sqSize, cqSize) : sqSize;
        nint ringMap = Map(fd, ringSize, OffSqRing), cqMap = 0, sqeMap = -1;
        if (ringMap != Libc.MAP_FAILED && !single) cqMap = Map(fd, cqSize, OffCqRing);
        nint sqeSize = (nint)p.SqEntries * Sqe128Size;
        if (ringMap != Libc.MAP_FAILED && cqMap != Libc.MAP_FAILED) sqeMap = Map(fd, sqeSize, OffSqes);
        if (ringMap == Libc.MAP_FAILED || cqMap == Libc.MAP_FAILED || sqeMap == Libc.MAP_FAILED)
        {
            errno = Libc.LastErrno;
            if (ringMap != Libc.MAP_FAILED) Libc.munmap(ringMap, ringSize);
            if (cqMap != 0 && cqMap != Libc.MAP_FAILED) Libc.munmap(cqMap, cqSize);
            Libc.close(fd);
            return null;
        }
        errno = 0;
        return new IoUringRing(fd, p, ringMap, ringSize, single ? 0 : cqMap, single ? 0 : cqSize, sqeMap, sqeSize);
    }

    private static nint Map(int fd, nint size, long offset) =>
        Libc.mmap(0, size, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_SHARED | MapPopulate, fd, offset);

    private const int MapPopulate = 0x8000;

    /// <summary>Registers <paramref name="fds"/> as fixed files 0, 1, …; returns 0 or -errno.</summary>
    public int RegisterFiles(ReadOnlySpan<int> fds)
    {
        fixed (int* values = fds) return IoUringNative.Register(_fd, IoUringNative.RegisterFiles, values, (uint)fds.Length);
    }

    /// <summary>A zeroed 128-byte submission entry, or null when every slot is filled and not yet submitted.</summary>
    public byte* NextSqe()
    {
        uint head = Volatile.Read(ref *_sqHead);
        if (_localTail - head >= SqEntries) return null;
        byte* sqe = _sqes + (nint)(_localTail & _sqMask) * Sqe128Size;
        new Span<byte>(sqe, Sqe128Size).Clear();
        _localTail++;
        return sqe;
    }

    /// <summary>
    /// Publishes the filled entries and enters the kernel: submits them and, when <paramref name="waitFor"/> is
    /// above 0, waits until that many completions are ready. Returns the number submitted or -errno (EINTR when a
    /// signal came, as the runtime's do).
    /// </summary>
    public int SubmitAndWait(uint waitFor)
    {
        // Everything the kernel has not consumed yet, also entries an earlier interrupted enter left behind.
        uint toSubmit = _localTail - Volatile.Read(ref *_sqHead);
        // Release: the entries' contents must be visible before the kernel sees the new tail.
        Volatile.Write(ref *_sqTail, _localTail);
        _published = _localTail;
        if (toSubmit == 0 && waitFor == 0) return 0;
        return IoUringNative.Enter(_fd, toSubmit, waitFor, waitFor > 0 ? EnterGetEvents : 0);
    }

    /// <summary>The oldest completion not yet consumed, if any; consume it with <see cref="Advance"/>.</summary>
    public bool TryPeek(out Cqe cqe)
    {
        uint head = *_cqHead;
        // Acquire: the completion's contents are read only after its tail is seen.
        if (head == Volatile.Read(ref *_cqTail))
        {
            cqe = default;
            return false;
        }
        cqe = _cqes[head & _cqMask];
        return true;
    }

    /// <summary>Hands the oldest completion's slot back to the kernel.</summary>
    public void Advance() => Volatile.Write(ref *_cqHead, *_cqHead + 1);

    /// <summary>Unmaps the ring and closes its fd; the kernel cancels what is still pending on it.</summary>
    public void Dispose()
    {
        int fd = Interlocked.Exchange(ref _fd, -1);
        if (fd < 0) return;
        Libc.munmap(_sqeMap, _sqeMapSize);
        if (_cqMap != 0) Libc.munmap(_cqMap, _cqMapSize);
        Libc.munmap(_ringMap, _ringMapSize);
        Libc.close(fd);
        _ringMap = _cqMap = _sqeMap = 0;
    }
}
