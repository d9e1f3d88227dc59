using DirectFuse.LowLevel;

namespace DirectFuse.Examples.MemFs;

// Open files: open/create, read/write, flush/release/fsync, fallocate, lseek and copy_file_range.
public sealed partial class MemFileSystem
{
    private const int OAccMode = 3, OWrOnly = 1, ORdWr = 2, OTrunc = 0x200;
    private const int FallocKeepSize = 1, FallocPunchHole = 2;
    private const int SeekData = 3, SeekHole = 4;

    private static int AccessFor(int flags)
    {
        int mask = (flags & OAccMode) switch { OWrOnly => W, ORdWr => R | W, _ => R };
        return (flags & OTrunc) != 0 ? mask | W : mask;
    }

    public override ValueTask<Result<OpenReply>> OpenAsync(FuseContext context, NodeId node, int flags, CancellationToken cancellationToken)
    {
        _lock.EnterWriteLock();
        try
        {
            var n = Find(node);
            if (n is null) return Done<OpenReply>(Errno.ENOENT);
            if (n is MemDirectory) return Done<OpenReply>(Errno.EISDIR);
            if (!Allowed(n, context, AccessFor(flags))) return Done<OpenReply>(Errno.EACCES);
            // TruncatesOnOpen: the truncation of open(O_TRUNC) arrives here rather than as SETATTR.
            if ((flags & OTrunc) != 0 && n is MemFile file)
            {
                int before = file.Data.ChunkCount;
                file.Data.SetSize(0);
                AccountChunks(file, before);
                file.SetModeKillingPrivileges(Permissions.ModeAfterTruncatingOpen(context, file.Ownership));
                file.Modified(TimeSpec.Now);
            }
            n.OpenCount++;
            // Every change of the data goes through this mount, so the kernel's page cache stays valid across opens.
            return Done<OpenReply>(new OpenReply(NewHandle(), OpenReplyFlags.KeepCache));
        }
        finally
        {
            _lock.ExitWriteLock();
        }
    }

    public override ValueTask<Result<CreateReply>> CreateAsync(FuseContext context, NodeId parent, FileName name, uint mode, int flags, CancellationToken cancellationToken)
    {
        if (name.Length > Names.NameMax) return Done<CreateReply>(Errno.ENAMETOOLONG);
        Span<char> buffer = stackalloc char[Names.NameMax];
        var key = Names.Decode(name, buffer);
        _lock.EnterWriteLock();
        try
        {
            var errno = PrepareCreate(parent, context, key, out var dir);
            if (!errno.IsOk) return Done<CreateReply>(errno);
            var now = TimeSpec.Now;
            (uint fileMode, uint gid) = NewOwnership(dir, context, StatMode.Regular | (mode & 0xFFF));
            var file = new MemFile(NextIno(), fileMode, context.Uid, gid, now);
            Attach(dir, key, file, now);
            file.OpenCount = 1;
            var entry = Entry(file);
            return Done<CreateReply>(new CreateReply(entry, new OpenReply(NewHandle(), OpenReplyFlags.KeepCache)));
        }
        finally
        {
            _lock.ExitWriteLock();
        }
    }

    public override ValueTask<Result<int>> ReadAsync(FuseContext context, NodeId node, FileHandle handle, long offset, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        if (offset < 0) return Done<int>(Errno.EINVAL);
        _lock.EnterReadLock();
        try
        {
            var n = Find(node);
            if (n is null) return Done<int>(Errno.ENOENT);
            if (n is not MemFile file) return Done<int>(n is MemDirectory ? Errno.EISDIR : Errno.EINVAL);
            // atime is not updated: that would make every read take the write lock (as with noatime).
            return Done<int>(file.Data.Read(offset, buffer.Span));
        }
        finally
        {
            _lock.ExitReadLock();
        }
    }

    public override ValueTask<Result<int>> WriteAsync(FuseContext context, NodeId node, FileHandle handle, long offset, ReadOnlyMemory<byte> data, WriteFlags flags, CancellationToken cancellationToken)
    {
        if (offset < 0) return Done<int>(Errno.EINVAL);
        if (data.Length > MaxFileSize - offset) return Done<int>(Errno.EFBIG);
        _lock.EnterWriteLock();
        try
        {
            var n = Find(node);
            if (n is null) return Done<int>(Errno.ENOENT);
            if (n is not MemFile file) return Done<int>(n is MemDirectory ? Errno.EISDIR : Errno.EINVAL);
            if (!HasRoomFor(file.Data.CountMissing(offset, data.Length))) return Done<int>(Errno.ENOSPC);
            int before = file.Data.ChunkCount;
            file.Data.Write(offset, data.Span);
            AccountChunks(file, before);
            // FUSE_WRITE_KILL_SUIDGID: the writer lacks CAP_FSETID (HANDLE_KILLPRIV_V2 leaves this to us).
            file.SetModeKillingPrivileges(Permissions.ModeAfterWrite(context, file.Ownership, flags));
            file.Modified(TimeSpec.Now);
            return Done<int>(data.Length);
        }
        finally
        {
            _lock.ExitWriteLock();
        }
    }

    /// <summary>
    /// FLUSH comes at every close(2). POSIX drops all of the process's record locks on the file at any close,
    /// and with POSIX locks served here the kernel relies on the server to do that for the lock owner.
    /// </summary>
    public override ValueTask<Errno> FlushAsync(FuseContext context, NodeId node, FileHandle handle, ulong lockOwner, CancellationToken cancellationToken)
    {
        _lock.EnterWriteLock();
        try
        {
            var n = Find(node);
            if (n?.Locks is { } locks && locks.ReleasePosix(lockOwner)) locks.WakeAll();
            return Done(Errno.Ok);
        }
        finally
        {
            _lock.ExitWriteLock();
        }
    }

    public override ValueTask<Errno> ReleaseAsync(FuseContext context, NodeId node, FileHandle handle, int flags, ReleaseFlags releaseFlags, ulong lockOwner, CancellationToken cancellationToken)
    {
        _lock.EnterWriteLock();
        try
        {
            var n = Find(node);
            if (n is null) return Done(Errno.Ok);
            // The open file that held a flock is gone; its lock owner is the open file.
            if ((releaseFlags & ReleaseFlags.FlockUnlock) != 0 && n.Locks is { } locks && locks.RemoveFlock(lockOwner)) locks.WakeAll();
            if (n.OpenCount > 0) n.OpenCount--;
            MaybeFree(n);
            return Done(Errno.Ok);
        }
        finally
        {
            _lock.ExitWriteLock();
        }
    }

    public override ValueTask<Errno> FsyncAsync(FuseContext context, NodeId node, FileHandle handle, bool dataOnly, CancellationToken cancellationToken) =>
        Done(Errno.Ok);

    public override ValueTask<Errno> FallocateAsync(FuseContext context, NodeId node, FileHandle handle, long offset, long length, int mode, CancellationToken cancellationToken)
    {
        if (offset < 0 || length <= 0) return Done(Errno.EINVAL);
        if (mode is not (0 or FallocKeepSize or (FallocPunchHole | FallocKeepSize))) return Done(Errno.EOPNOTSUPP);
        if (length > MaxFileSize - offset) return Done(Errno.EFBIG);
        _lock.EnterWriteLock();
        try
        {
            var n = Find(node);
            if (n is null) return Done(Errno.ENOENT);
            if (n is not MemFile file) return Done(n is MemDirectory ? Errno.EISDIR : Errno.ENODEV);
            int before = file.Data.ChunkCount;
            if ((mode & FallocPunchHole) != 0) file.Data.PunchHole(offset, length);
            else
            {
                if (!HasRoomFor(file.Data.CountMissing(offset, length))) return Done(Errno.ENOSPC);
                file.Data.Allocate(offset, length, keepSize: (mode & FallocKeepSize) != 0);
            }
            AccountChunks(file, before);
            file.Modified(TimeSpec.Now); // as tmpfs does for every mode
            return Done(Errno.Ok);
        }
        finally
        {
            _lock.ExitWriteLock();
        }
    }

    public override ValueTask<Result<long>> LseekAsync(FuseContext context, NodeId node, FileHandle handle, long offset, int whence, CancellationToken cancellationToken)
    {
        if (whence is not (SeekData or SeekHole)) return Done<long>(Errno.EINVAL);
        if (offset < 0) return Done<long>(Errno.ENXIO);
        _lock.EnterReadLock();
        try
        {
            var n = Find(node);
            if (n is null) return Done<long>(Errno.ENOENT);
            if (n is not MemFile file) return Done<long>(Errno.EINVAL);
            long result = whence == SeekData ? file.Data.SeekData(offset) : file.Data.SeekHole(offset);
            return result < 0 ? Done<long>(Errno.ENXIO) : Done<long>(result);
        }
        finally
        {
            _lock.ExitReadLock();
        }
    }

    public override ValueTask<Result<long>> CopyFileRangeAsync(FuseContext context, NodeId nodeIn, FileHandle handleIn, long offsetIn, NodeId nodeOut, FileHandle handleOut, long offsetOut, long length, ulong flags, CancellationToken cancellationToken)
    {
        if (flags != 0 || offsetIn < 0 || offsetOut < 0 || length < 0) return Done<long>(Errno.EINVAL);
        _lock.EnterWriteLock();
        try
        {
            if (Find(nodeIn) is not MemFile source || Find(nodeOut) is not MemFile target) return Done<long>(Errno.EINVAL);
            long n = Math.Min(length, Math.Max(0, source.Data.Size - offsetIn));
            if (n == 0) return Done<long>(0L);
            if (n > MaxFileSize - offsetOut) return Done<long>(Errno.EFBIG);
            if (source == target && offsetIn < offsetOut + n && offsetOut < offsetIn + n) return Done<long>(Errno.EINVAL);
            // An over-estimate (holes of the source stay holes), but it keeps the copy all-or-nothing.
            if (!HasRoomFor(target.Data.CountMissing(offsetOut, n))) return Done<long>(Errno.ENOSPC);
            int before = target.Data.ChunkCount;
            CopyRange(source.Data, offsetIn, target.Data, offsetOut, n);
            AccountChunks(target, before);
            target.Modified(TimeSpec.Now);
            return Done<long>(n);
        }
        finally
        {
            _lock.ExitWriteLock();
        }
    }

    /// <summary>Copies chunk piece by chunk piece; holes in the source become holes (or zeros) in the target.</summary>
    private static void CopyRange(MemFileData source, long offsetIn, MemFileData target, long offsetOut, long length)
    {
        const int mask = MemFileData.ChunkSize - 1;
        long done = 0;
        while (done < length)
        {
            long from = offsetIn + done, to = offsetOut + done;
            int piece = (int)Math.Min(length - done, Math.Min(MemFileData.ChunkSize - (from & mask), MemFileData.ChunkSize - (to & mask)));
            var chunk = source.ChunkAt(from);
            if (chunk.IsEmpty) target.ZeroAllocated(to, piece);
            else target.Write(to, chunk.Slice((int)(from & mask), piece));
            done += piece;
        }
        target.ExtendTo(offsetOut + length);
    }
}
