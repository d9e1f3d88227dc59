using DirectFuse.LowLevel;

namespace DirectFuse.Examples.Loopback;

// Names and inodes: lookup counting, attributes, creating, linking, renaming and removing nodes.
public sealed unsafe partial class LoopbackFileSystem
{
    public override ValueTask<Result<EntryReply>> LookupAsync(FuseContext context, NodeId parent, FileName name, CancellationToken cancellationToken)
    {
        var dir = InodeOf(parent);
        // ".." of the root would leave the source; the kernel only asks for it on NFS export anyway.
        if (dir == _inodes.Root && name.IsDotDot) name = new FileName("."u8.ToArray());
        return Done(DoLookup(dir, name));
    }

    public override void Forget(NodeId node, ulong count) => _inodes.Forget(node.Value, count);

    public override ValueTask<Result<AttrReply>> GetAttrAsync(FuseContext context, NodeId node, FileHandle? handle, CancellationToken cancellationToken)
    {
        // fstat of an open file: its descriptor still works once the file is unlinked, a file handle would not.
        var attr = handle is { } open ? Stat(FdOf(open)) : Stat(InodeOf(node));
        return Done(attr.IsOk ? new AttrReply(attr.Value, _options.AttrTimeout) : (Result<AttrReply>)attr.Error);
    }

    public override ValueTask<Result<AttrReply>> SetAttrAsync(FuseContext context, NodeId node, SetAttrRequest request, CancellationToken cancellationToken)
    {
        var inode = InodeOf(node);
        int fd = request.Handle is { } handle ? FdOf(handle) : -1;
        Span<byte> proc = stackalloc byte[ProcPathSize];
        // With the open file's descriptor nothing needs reopening (and an unlinked open file has no handle to reopen).
        using var path = fd >= 0 ? new PathDescriptor(fd, owned: false) : inode.Path();
        ProcPath(path.Fd, proc);
        fixed (byte* procPath = proc)
        {
            if (request.Has(SetAttrFields.Mode))
            {
                uint mode = request.Mode & 0xfff;
                int rc = fd >= 0 ? NativeMethods.fchmod(fd, mode) : NativeMethods.fchmodat(NativeMethods.AT_FDCWD, procPath, mode, 0);
                if (rc < 0) return Done<AttrReply>(Errno.Last);
            }
            if (request.Has(SetAttrFields.Uid) || request.Has(SetAttrFields.Gid))
            {
                uint uid = request.Has(SetAttrFields.Uid) ? request.Uid : uint.MaxValue;
                uint gid = request.Has(SetAttrFields.Gid) ? request.Gid : uint.MaxValue;
                if (NativeMethods.fchownat(path.Fd, EmptyPath, uid, gid, NativeMethods.AT_EMPTY_PATH | NativeMethods.AT_SYMLINK_NOFOLLOW) < 0)
                    return Done<AttrReply>(Errno.Last);
            }
            if (request.Has(SetAttrFields.Size))
            {
                int rc = fd >= 0 ? NativeMethods.ftruncate(fd, request.Size) : NativeMethods.truncate(procPath, request.Size);
                if (rc < 0) return Done<AttrReply>(Errno.Last);
            }
            if ((request.Valid & (SetAttrFields.Atime | SetAttrFields.Mtime | SetAttrFields.AtimeNow | SetAttrFields.MtimeNow)) != 0)
            {
                var times = stackalloc NativeMethods.Timespec[2];
                times[0] = ToTimespec(request, SetAttrFields.Atime, SetAttrFields.AtimeNow, request.Atime);
                times[1] = ToTimespec(request, SetAttrFields.Mtime, SetAttrFields.MtimeNow, request.Mtime);
                int rc = fd >= 0
                    ? NativeMethods.futimens(fd, times)
                    : NativeMethods.utimensat(path.Fd, EmptyPath, times, NativeMethods.AT_EMPTY_PATH | NativeMethods.AT_SYMLINK_NOFOLLOW);
                if (rc < 0) return Done<AttrReply>(Errno.Last);
            }
        }
        var attr = fd >= 0 ? Stat(fd) : Stat(inode);
        return Done(attr.IsOk ? new AttrReply(attr.Value, _options.AttrTimeout) : (Result<AttrReply>)attr.Error);
    }

    private static NativeMethods.Timespec ToTimespec(in SetAttrRequest request, SetAttrFields set, SetAttrFields now, TimeSpec value) =>
        request.Has(now) ? new NativeMethods.Timespec { Nanoseconds = NativeMethods.UTIME_NOW }
        : request.Has(set) ? new NativeMethods.Timespec { Seconds = value.Seconds, Nanoseconds = value.Nanoseconds }
        : new NativeMethods.Timespec { Nanoseconds = NativeMethods.UTIME_OMIT };

    public override ValueTask<Result<int>> ReadLinkAsync(FuseContext context, NodeId node, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        using var path = InodeOf(node).Path();
        fixed (byte* p = buffer.Span)
        {
            nint n = NativeMethods.readlinkat(path.Fd, EmptyPath, p, buffer.Length);
            return Done<int>(n < 0 ? Errno.Last : (int)n);
        }
    }

    public override ValueTask<Result<EntryReply>> MkNodAsync(FuseContext context, NodeId parent, FileName name, uint mode, uint rdev, CancellationToken cancellationToken) =>
        Done(CreateNode(context, InodeOf(parent), name, mode, rdev, default, &MkNodAt));

    public override ValueTask<Result<EntryReply>> MkDirAsync(FuseContext context, NodeId parent, FileName name, uint mode, CancellationToken cancellationToken) =>
        Done(CreateNode(context, InodeOf(parent), name, mode, 0, default, &MkDirAt));

    public override ValueTask<Result<EntryReply>> SymLinkAsync(FuseContext context, NodeId parent, FileName name, FileName target, CancellationToken cancellationToken) =>
        Done(CreateNode(context, InodeOf(parent), name, 0, 0, target, &SymLinkAt));

    private static int MkNodAt(int dirFd, byte* name, uint mode, uint rdev, byte* target) => NativeMethods.mknodat(dirFd, name, mode, rdev);
    private static int MkDirAt(int dirFd, byte* name, uint mode, uint rdev, byte* target) => NativeMethods.mkdirat(dirFd, name, mode);
    private static int SymLinkAt(int dirFd, byte* name, uint mode, uint rdev, byte* target) => NativeMethods.symlinkat(target, dirFd, name);

    /// <summary>
    /// Makes a node with <paramref name="create"/> under the caller's fsuid/fsgid (so it belongs to them), then
    /// looks it up; a symlink (no mode) is looked up as it is, other nodes get back what our umask took away.
    /// </summary>
    private Result<EntryReply> CreateNode(FuseContext context, Inode dir, FileName name, uint mode, uint rdev, FileName target,
        delegate*<int, byte*, uint, uint, byte*, int> create)
    {
        Span<byte> z = stackalloc byte[name.Length + 1];
        TerminateEntry(name, z);
        Span<byte> t = stackalloc byte[target.Length + 1];
        Terminate(target, t);
        fixed (byte* p = z)
        fixed (byte* tp = t)
        {
            int rc;
            Errno errno = Errno.Ok;
            using (var path = dir.Path())
            using (AsCaller(context))
            {
                rc = create(path.Fd, p, mode, rdev, tp);
                if (rc < 0) errno = Errno.Last; // before AsCaller's own system calls overwrite it
            }
            if (rc < 0) return errno;
            return target.Length > 0 ? DoLookup(dir, p) : Created(dir, p, mode);
        }
    }

    /// <summary>
    /// Looks up a node just made by mknod/mkdir/create and gives back the permission bits our own umask took
    /// away (the kernel already applied the caller's).
    /// </summary>
    private Result<EntryReply> Created(Inode dir, byte* name, uint mode)
    {
        var result = DoLookup(dir, name);
        if (!result.TryGetValue(out var entry) || !ServerUmaskStrips(mode)) return result;
        uint wanted = entry.Attr.Mode & 0xfff | (mode & 0x1ff & _serverUmask);
        var inode = _inodes.Get(entry.NodeId.Value);
        if (inode is null || StatMode.IsSymlink(entry.Attr.Mode)) return result;
        Span<byte> proc = stackalloc byte[ProcPathSize];
        using var path = inode.Path();
        ProcPath(path.Fd, proc);
        fixed (byte* procPath = proc)
            if (NativeMethods.fchmodat(NativeMethods.AT_FDCWD, procPath, wanted, 0) == 0)
                entry.Attr.Mode = entry.Attr.Mode & StatMode.TypeMask | wanted;
        return entry;
    }

    public override ValueTask<Result<EntryReply>> LinkAsync(FuseContext context, NodeId node, NodeId newParent, FileName newName, CancellationToken cancellationToken)
    {
        var inode = InodeOf(node);
        var dir = InodeOf(newParent);
        Span<byte> z = stackalloc byte[newName.Length + 1];
        TerminateEntry(newName, z);
        Span<byte> proc = stackalloc byte[ProcPathSize];
        using var path = inode.Path();
        using var dirPath = dir.Path();
        ProcPath(path.Fd, proc);
        fixed (byte* p = z)
        fixed (byte* procPath = proc)
        {
            // Through /proc with AT_SYMLINK_FOLLOW: that links the O_PATH inode itself (also a symlink) and,
            // unlike AT_EMPTY_PATH, needs no CAP_DAC_READ_SEARCH.
            if (NativeMethods.linkat(NativeMethods.AT_FDCWD, procPath, dirPath.Fd, p, NativeMethods.AT_SYMLINK_FOLLOW) < 0)
                return Done<EntryReply>(Errno.Last);
            return Done(DoLookup(dir, p));
        }
    }

    public override ValueTask<Errno> UnlinkAsync(FuseContext context, NodeId parent, FileName name, CancellationToken cancellationToken) =>
        Done(Unlink(parent, name, 0));

    public override ValueTask<Errno> RmDirAsync(FuseContext context, NodeId parent, FileName name, CancellationToken cancellationToken) =>
        Done(Unlink(parent, name, NativeMethods.AT_REMOVEDIR));

    private Errno Unlink(NodeId parent, FileName name, int flags)
    {
        using var dir = InodeOf(parent).Path();
        Span<byte> z = stackalloc byte[name.Length + 1];
        TerminateEntry(name, z);
        fixed (byte* p = z) return NativeMethods.unlinkat(dir.Fd, p, flags) < 0 ? Errno.Last : Errno.Ok;
    }

    public override ValueTask<Errno> RenameAsync(FuseContext context, NodeId parent, FileName name, NodeId newParent, FileName newName, RenameFlags flags, CancellationToken cancellationToken)
    {
        using var from = InodeOf(parent).Path();
        using var to = InodeOf(newParent).Path();
        Span<byte> a = stackalloc byte[name.Length + 1];
        TerminateEntry(name, a);
        Span<byte> b = stackalloc byte[newName.Length + 1];
        TerminateEntry(newName, b);
        fixed (byte* pa = a)
        fixed (byte* pb = b)
            return Done(NativeMethods.renameat2(from.Fd, pa, to.Fd, pb, (uint)flags) < 0 ? Errno.Last : Errno.Ok);
    }

    public override ValueTask<Result<StatFsReply>> StatFsAsync(FuseContext context, NodeId node, CancellationToken cancellationToken)
    {
        using var path = InodeOf(node).Path();
        NativeMethods.StatVfs s;
        if (NativeMethods.fstatvfs(path.Fd, &s) < 0) return Done<StatFsReply>(Errno.Last);
        return Done<StatFsReply>(new StatFsReply
        {
            Blocks = s.Blocks,
            BlocksFree = s.BlocksFree,
            BlocksAvailable = s.BlocksAvailable,
            Files = s.Files,
            FilesFree = s.FilesFree,
            BlockSize = (uint)s.BlockSize,
            FragmentSize = (uint)s.FragmentSize,
            NameMax = (uint)s.NameMax,
        });
    }

    public override ValueTask<Errno> SyncFsAsync(FuseContext context, NodeId node, CancellationToken cancellationToken)
    {
        // syncfs(2) wants a real descriptor, not an O_PATH one.
        int fd = Reopen(InodeOf(node), NativeMethods.O_RDONLY);
        if (fd < 0) return Done(Errno.Last);
        var errno = NativeMethods.syncfs(fd) < 0 ? Errno.Last : Errno.Ok;
        NativeMethods.close(fd);
        return Done(errno);
    }
}
