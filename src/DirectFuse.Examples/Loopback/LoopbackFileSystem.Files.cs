using DirectFuse.LowLevel;
using Microsoft.Win32.SafeHandles;

namespace DirectFuse.Examples.Loopback;

// Open files. A file handle is the server's descriptor in its low 32 bits, so no table is consulted per
// READ/WRITE; the bits above say how the open was answered, for the bookkeeping at RELEASE.
public sealed unsafe partial class LoopbackFileSystem
{
    private const ulong PassthroughOpen = 1UL << 32, CachedOpen = 1UL << 33;

    private static int FdOf(FileHandle handle) => (int)(uint)handle.Value;

    public override ValueTask<Result<OpenReply>> OpenAsync(FuseContext context, NodeId node, int flags, CancellationToken cancellationToken)
    {
        var inode = InodeOf(node);
        int fd = Reopen(inode, flags);
        if (fd < 0) return Done<OpenReply>(Errno.Last);
        return Done<OpenReply>(FinishOpen(inode, fd, flags));
    }

    public override ValueTask<Result<CreateReply>> CreateAsync(FuseContext context, NodeId parent, FileName name, uint mode, int flags, CancellationToken cancellationToken)
    {
        var dir = InodeOf(parent);
        Span<byte> z = stackalloc byte[name.Length + 1];
        TerminateEntry(name, z);
        fixed (byte* p = z)
        {
            int fd;
            Errno errno = Errno.Ok;
            using (var dirPath = dir.Path())
            using (AsCaller(context))
            {
                fd = NativeMethods.openat(dirPath.Fd, p, (flags | NativeMethods.O_CREAT | NativeMethods.O_CLOEXEC) & ~NativeMethods.O_NOFOLLOW, mode & 0xfff);
                if (fd < 0) errno = Errno.Last;
            }
            if (fd < 0) return Done<CreateReply>(errno);
            var created = Created(dir, p, mode);
            if (!created.TryGetValue(out var entry))
            {
                NativeMethods.close(fd);
                return Done<CreateReply>(created.Error);
            }
            var inode = _inodes.Get(entry.NodeId.Value)!; // Our lookup reference keeps it in the table.
            return Done<CreateReply>(new CreateReply(entry, FinishOpen(inode, fd, flags)));
        }
    }

    /// <summary>
    /// Chooses how an open of <paramref name="inode"/> on <paramref name="fd"/> is served: passthrough on the
    /// inode's shared backing file when possible; otherwise through the page cache, or direct I/O when the
    /// inode is open with passthrough already (the kernel does not let the two modes meet on one inode).
    /// </summary>
    private OpenReply FinishOpen(Inode inode, int fd, int flags)
    {
        ulong handle = (uint)fd;
        if (inode.Type != StatMode.Regular) return new OpenReply(new FileHandle(handle));
        var noFlush = FlushFlags(inode, fd);
        var connection = _connection;
        bool passthrough = connection is not null && connection.Has(InitFlags.Passthrough) && !_passthroughDisabled;
        lock (inode)
        {
            if (passthrough && inode.CachedOpens == 0)
            {
                bool writes = (flags & NativeMethods.O_ACCMODE) != NativeMethods.O_RDONLY;
                if (!inode.Backing.IsRegistered) RegisterBacking(connection!, inode);
                if (inode.Backing.IsRegistered && (!writes || inode.BackingWritable))
                    return new OpenReply(new FileHandle(handle | PassthroughOpen), OpenReplyFlags.Passthrough | noFlush, inode.Backing.Acquire());
                if (inode.Backing.Opens > 0) return new OpenReply(new FileHandle(handle), OpenReplyFlags.DirectIo | noFlush);
                inode.Backing.Close(); // read-only, and this open writes: the page cache serves it and those after
            }
            inode.CachedOpens++;
            return new OpenReply(new FileHandle(handle | CachedOpen), noFlush);
        }
    }

    /// <summary>Registers a backing file for the inode, read-write if at all possible so later write opens can share it.</summary>
    private void RegisterBacking(FuseConnection connection, Inode inode)
    {
        bool writable = true;
        int fd = Reopen(inode, NativeMethods.O_RDWR);
        if (fd < 0)
        {
            // Read-only source, a running executable (ETXTBSY), an immutable file...
            writable = false;
            fd = Reopen(inode, NativeMethods.O_RDONLY);
            if (fd < 0) return;
        }
        // The kernel holds its own reference to the file once registered; ours can close right away.
        using var file = new SafeFileHandle(fd, ownsHandle: true);
        try
        {
            inode.Backing.Register(connection.OpenBackingFile(file));
            inode.BackingWritable = writable;
        }
        catch (FuseException e)
        {
            // EPERM: no CAP_SYS_ADMIN after all; anything else (ELOOP for a too deeply stacked source) only
            // concerns this file.
            if (e.Errno == Errno.EPERM) DisablePassthrough(e.Errno);
        }
    }

    private long _servedReads;

    /// <summary>READ requests the server answered itself (none for passthrough opens).</summary>
    public long ServedReads => Interlocked.Read(ref _servedReads);

    public override ValueTask<Result<int>> ReadAsync(FuseContext context, NodeId node, FileHandle handle, long offset, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _servedReads);
        nint n;
        fixed (byte* p = buffer.Span) n = NativeMethods.pread(FdOf(handle), p, buffer.Length, offset);
        return Done<int>(n < 0 ? Errno.Last : (int)n);
    }

    public override ValueTask<Result<int>> WriteAsync(FuseContext context, NodeId node, FileHandle handle, long offset, ReadOnlyMemory<byte> data, WriteFlags flags, CancellationToken cancellationToken)
    {
        nint n;
        fixed (byte* p = data.Span) n = NativeMethods.pwrite(FdOf(handle), p, data.Length, offset);
        return Done<int>(n < 0 ? Errno.Last : (int)n);
    }

    public override ValueTask<Errno> ReleaseAsync(FuseContext context, NodeId node, FileHandle handle, int flags, ReleaseFlags releaseFlags, ulong lockOwner, CancellationToken cancellationToken)
    {
        NativeMethods.close(FdOf(handle));
        if ((handle.Value & (PassthroughOpen | CachedOpen)) != 0 && _inodes.Get(node.Value) is { } inode)
        {
            lock (inode)
            {
                if ((handle.Value & CachedOpen) != 0) inode.CachedOpens--;
                else inode.Backing.Release(); // the last one closes the backing id; the next open registers anew
            }
        }
        return Done(Errno.Ok);
    }

    public override ValueTask<Errno> FsyncAsync(FuseContext context, NodeId node, FileHandle handle, bool dataOnly, CancellationToken cancellationToken)
    {
        int fd = FdOf(handle);
        int rc = dataOnly ? NativeMethods.fdatasync(fd) : NativeMethods.fsync(fd);
        return Done(rc < 0 ? Errno.Last : Errno.Ok);
    }

    public override ValueTask<Errno> FallocateAsync(FuseContext context, NodeId node, FileHandle handle, long offset, long length, int mode, CancellationToken cancellationToken) =>
        Done(NativeMethods.fallocate(FdOf(handle), mode, offset, length) < 0 ? Errno.Last : Errno.Ok);

    public override ValueTask<Result<long>> LseekAsync(FuseContext context, NodeId node, FileHandle handle, long offset, int whence, CancellationToken cancellationToken)
    {
        long result = NativeMethods.lseek(FdOf(handle), offset, whence);
        return Done<long>(result < 0 ? Errno.Last : result);
    }

    public override ValueTask<Result<long>> CopyFileRangeAsync(FuseContext context, NodeId nodeIn, FileHandle handleIn, long offsetIn, NodeId nodeOut, FileHandle handleOut, long offsetOut, long length, ulong flags, CancellationToken cancellationToken)
    {
        long inPos = offsetIn, outPos = offsetOut;
        nint n = NativeMethods.copy_file_range(FdOf(handleIn), &inPos, FdOf(handleOut), &outPos, (nint)Math.Min(length, int.MaxValue), (uint)flags);
        return Done<long>(n < 0 ? Errno.Last : n);
    }

    // ---- Locks ----------------------------------------------------------------------------------------------
    // flock(2) locks belong to an open file description, which is what a FUSE file handle is, so flock on our
    // descriptor matches exactly. POSIX record locks are taken as open-file-description (OFD) locks on the same
    // descriptor: that keeps them visible to processes using the source directly, but their owner is the open
    // file rather than the process (two opens of one file in one process conflict; a descriptor shared after
    // fork does not).

    /// <summary>Both kinds, taken on the source files: processes using the source directly see them too.</summary>
    public override LockKinds ServedLocks => LockKinds.Posix | LockKinds.Flock;

    public override ValueTask<Result<FileLock>> GetLkAsync(FuseContext context, NodeId node, FileHandle handle, ulong owner, FileLock @lock, CancellationToken cancellationToken)
    {
        var lk = ToFlock(@lock);
        if (NativeMethods.fcntl_lock(FdOf(handle), NativeMethods.F_OFD_GETLK, &lk) < 0) return Done<FileLock>(Errno.Last);
        if (lk.Type == NativeMethods.F_UNLCK) return Done<FileLock>(@lock with { Type = FileLock.Unlock });
        ulong end = lk.Length == 0 ? long.MaxValue : (ulong)(lk.Start + lk.Length - 1);
        // OFD locks have no owning process (l_pid is -1); 0 tells the caller as much.
        return Done<FileLock>(new FileLock((ulong)lk.Start, end, lk.Type, 0));
    }

    public override ValueTask<Errno> SetLkAsync(FuseContext context, NodeId node, FileHandle handle, ulong owner, FileLock @lock, bool wait, bool isFlock, CancellationToken cancellationToken)
    {
        int fd = FdOf(handle);
        var errno = TryLock(fd, @lock, isFlock);
        if (errno == Errno.EAGAIN || errno == Errno.EACCES)
            return wait ? LockWaiter.WaitAsync(fd, @lock, isFlock, cancellationToken) : Done(Errno.EAGAIN);
        return Done(errno);
    }

    internal static Errno TryLock(int fd, in FileLock @lock, bool isFlock)
    {
        if (isFlock)
        {
            int operation = @lock.Type switch
            {
                FileLock.ReadLock => NativeMethods.LOCK_SH,
                FileLock.WriteLock => NativeMethods.LOCK_EX,
                _ => NativeMethods.LOCK_UN,
            };
            return NativeMethods.flock(fd, operation | NativeMethods.LOCK_NB) < 0 ? Errno.Last : Errno.Ok;
        }
        var lk = ToFlock(@lock);
        return NativeMethods.fcntl_lock(fd, NativeMethods.F_OFD_SETLK, &lk) < 0 ? Errno.Last : Errno.Ok;
    }

    private static NativeMethods.Flock ToFlock(in FileLock @lock) => new()
    {
        Type = (short)@lock.Type,
        Whence = NativeMethods.SEEK_SET,
        Start = (long)Math.Min(@lock.Start, long.MaxValue),
        // The kernel's OFFSET_MAX end means "to the end of the file", which is length 0.
        Length = @lock.End >= long.MaxValue ? 0 : (long)(@lock.End - @lock.Start + 1),
        Pid = 0,
    };
}

/// <summary>
/// SETLKW and blocking flock: retried without blocking a worker thread (a blocked worker could hold up the very
/// unlock being waited for), and ended by INTERRUPT when the caller gets a signal.
/// </summary>
internal static class LockWaiter
{
    public static async ValueTask<Errno> WaitAsync(int fd, FileLock @lock, bool isFlock, CancellationToken cancellationToken)
    {
        int delay = 1;
        while (true)
        {
            await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
            var errno = LoopbackFileSystem.TryLock(fd, @lock, isFlock);
            if (errno != Errno.EAGAIN && errno != Errno.EACCES) return errno;
            delay = Math.Min(delay * 2, 50);
        }
    }
}
