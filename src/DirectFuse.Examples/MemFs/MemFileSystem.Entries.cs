using DirectFuse.LowLevel;

namespace DirectFuse.Examples.MemFs;

// Names and inodes: lookup and forget, attributes, creating, linking and removing nodes.
public sealed partial class MemFileSystem
{
    public override ValueTask<Result<EntryReply>> LookupAsync(FuseContext context, NodeId parent, FileName name, CancellationToken cancellationToken)
    {
        if (name.Length > Names.NameMax) return Done<EntryReply>(Errno.ENAMETOOLONG);
        Span<char> buffer = stackalloc char[Names.NameMax];
        var key = Names.Decode(name, buffer);
        _lock.EnterReadLock();
        try
        {
            var node = Find(parent);
            if (node is null) return Done<EntryReply>(Errno.ENOENT);
            if (node is not MemDirectory dir) return Done<EntryReply>(Errno.ENOTDIR);
            if (!Allowed(dir, context, X)) return Done<EntryReply>(Errno.EACCES);
            MemNode? found = key is "." ? dir : key is ".." ? dir.Parent ?? dir : dir.Get(key)?.Node;
            if (found is null) return Done<EntryReply>(Errno.ENOENT);
            return Done<EntryReply>(Entry(found));
        }
        finally
        {
            _lock.ExitReadLock();
        }
    }

    public override void Forget(NodeId node, ulong count)
    {
        _lock.EnterWriteLock();
        try
        {
            var n = Find(node);
            if (n is null) return;
            n.Lookups = n.Lookups > (long)count ? n.Lookups - (long)count : 0;
            MaybeFree(n);
        }
        finally
        {
            _lock.ExitWriteLock();
        }
    }

    public override ValueTask<Result<AttrReply>> GetAttrAsync(FuseContext context, NodeId node, FileHandle? handle, CancellationToken cancellationToken)
    {
        _lock.EnterReadLock();
        try
        {
            var n = Find(node);
            return n is null ? Done<AttrReply>(Errno.ENOENT) : Done<AttrReply>(Attr(n));
        }
        finally
        {
            _lock.ExitReadLock();
        }
    }

    public override ValueTask<Result<AttrReply>> SetAttrAsync(FuseContext context, NodeId node, SetAttrRequest request, CancellationToken cancellationToken)
    {
        _lock.EnterWriteLock();
        try
        {
            var n = Find(node);
            if (n is null) return Done<AttrReply>(Errno.ENOENT);
            var errno = CheckSetAttr(n, context, request);
            if (!errno.IsOk) return Done<AttrReply>(errno);
            ApplySetAttr(n, context, request);
            return Done<AttrReply>(Attr(n));
        }
        finally
        {
            _lock.ExitWriteLock();
        }
    }

    /// <summary>Validates the whole request first, so a refused SETATTR changes nothing.</summary>
    private Errno CheckSetAttr(MemNode n, in FuseContext context, in SetAttrRequest request)
    {
        if (request.Has(SetAttrFields.Size))
        {
            if (n is MemDirectory) return Errno.EISDIR;
            if (n is not MemFile) return Errno.EINVAL; // growing allocates nothing: the new range is a hole
            if (request.Size < 0) return Errno.EINVAL;
            if (request.Size > MaxFileSize) return Errno.EFBIG;
        }
        return Permissions.CheckSetAttr(context, n.Ownership, request);
    }

    private void ApplySetAttr(MemNode n, in FuseContext context, in SetAttrRequest request)
    {
        var now = TimeSpec.Now;
        // With FUSE_HANDLE_KILLPRIV_V2 the kernel leaves dropping the privilege bits to us and says when:
        // chown of a non-directory, and truncate by an unprivileged caller.
        n.SetModeKillingPrivileges(Permissions.ModeAfterSetAttr(context, n.Ownership, request));
        if (request.Has(SetAttrFields.Uid)) n.Uid = request.Uid;
        if (request.Has(SetAttrFields.Gid)) n.Gid = request.Gid;
        if (request.Has(SetAttrFields.Size) && n is MemFile file)
        {
            int before = file.Data.ChunkCount;
            if (request.Size != file.Data.Size)
            {
                file.Data.SetSize(request.Size);
                file.Modified(now);
            }
            AccountChunks(file, before);
        }
        if (request.Has(SetAttrFields.Atime)) n.Atime = request.Has(SetAttrFields.AtimeNow) ? now : request.Atime;
        if (request.Has(SetAttrFields.Mtime)) n.Mtime = request.Has(SetAttrFields.MtimeNow) ? now : request.Mtime;
        n.Ctime = request.Has(SetAttrFields.Ctime) ? request.Ctime : now;
    }

    public override ValueTask<Result<int>> ReadLinkAsync(FuseContext context, NodeId node, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        _lock.EnterReadLock();
        try
        {
            var n = Find(node);
            if (n is null) return Done<int>(Errno.ENOENT);
            if (n is not MemSymlink link) return Done<int>(Errno.EINVAL);
            int length = Math.Min(link.Target.Length, buffer.Length);
            link.Target.AsSpan(0, length).CopyTo(buffer.Span);
            return Done<int>(length);
        }
        finally
        {
            _lock.ExitReadLock();
        }
    }

    public override ValueTask<Result<EntryReply>> MkNodAsync(FuseContext context, NodeId parent, FileName name, uint mode, uint rdev, CancellationToken cancellationToken)
    {
        uint type = mode & StatMode.TypeMask;
        if (type is not (StatMode.Regular or StatMode.Fifo or StatMode.Socket or StatMode.Character or StatMode.Block or 0))
            return Done<EntryReply>(Errno.EINVAL);
        if (type == 0) mode |= StatMode.Regular; // mknod(2): a zero type means a regular file
        return CreateNode(context, parent, name, mode, rdev, target: default);
    }

    public override ValueTask<Result<EntryReply>> MkDirAsync(FuseContext context, NodeId parent, FileName name, uint mode, CancellationToken cancellationToken) =>
        CreateNode(context, parent, name, StatMode.Directory | (mode & 0xFFF), 0, target: default);

    public override ValueTask<Result<EntryReply>> SymLinkAsync(FuseContext context, NodeId parent, FileName name, FileName target, CancellationToken cancellationToken)
    {
        if (target.Length >= 4096) return Done<EntryReply>(Errno.ENAMETOOLONG); // PATH_MAX with its terminating zero
        return CreateNode(context, parent, name, StatMode.Symlink | 0x1FF, 0, target);
    }

    /// <summary>MKNOD, MKDIR and SYMLINK: a new node of the type in <paramref name="mode"/>.</summary>
    private ValueTask<Result<EntryReply>> CreateNode(in FuseContext context, NodeId parent, FileName name, uint mode, uint rdev, FileName target)
    {
        if (name.Length > Names.NameMax) return Done<EntryReply>(Errno.ENAMETOOLONG);
        Span<char> buffer = stackalloc char[Names.NameMax];
        var key = Names.Decode(name, buffer);
        _lock.EnterWriteLock();
        try
        {
            var errno = PrepareCreate(parent, context, key, out var dir);
            if (!errno.IsOk) return Done<EntryReply>(errno);
            var now = TimeSpec.Now;
            (mode, uint gid) = NewOwnership(dir, context, mode);
            MemNode node = (mode & StatMode.TypeMask) switch
            {
                StatMode.Directory => new MemDirectory(NextIno(), mode, context.Uid, gid, now, dir),
                StatMode.Regular => new MemFile(NextIno(), mode, context.Uid, gid, now),
                StatMode.Symlink => new MemSymlink(NextIno(), mode, context.Uid, gid, now, target.Span.ToArray()),
                _ => new MemSpecial(NextIno(), mode, context.Uid, gid, now, rdev),
            };
            Attach(dir, key, node, now);
            return Done<EntryReply>(Entry(node));
        }
        finally
        {
            _lock.ExitWriteLock();
        }
    }

    public override ValueTask<Result<EntryReply>> LinkAsync(FuseContext context, NodeId node, NodeId newParent, FileName newName, CancellationToken cancellationToken)
    {
        if (newName.Length > Names.NameMax) return Done<EntryReply>(Errno.ENAMETOOLONG);
        Span<char> buffer = stackalloc char[Names.NameMax];
        var key = Names.Decode(newName, buffer);
        _lock.EnterWriteLock();
        try
        {
            var n = Find(node);
            if (n is null) return Done<EntryReply>(Errno.ENOENT);
            if (n is MemDirectory) return Done<EntryReply>(Errno.EPERM);
            if (n.NLink == 0) return Done<EntryReply>(Errno.ENOENT); // linkat of an unlinked open file (without O_TMPFILE)
            if (n.NLink == uint.MaxValue) return Done<EntryReply>(Errno.EMLINK);
            var refused = Permissions.CheckHardLink(context, n.Ownership);
            if (!refused.IsOk) return Done<EntryReply>(refused);
            var errno = WritableDirectory(newParent, context, out var dir);
            if (!errno.IsOk) return Done<EntryReply>(errno);
            if (dir.Get(key) is not null) return Done<EntryReply>(Errno.EEXIST);
            var now = TimeSpec.Now;
            dir.Add(key, n);
            dir.Modified(now);
            n.NLink++;
            n.Ctime = now;
            return Done<EntryReply>(Entry(n));
        }
        finally
        {
            _lock.ExitWriteLock();
        }
    }

    public override ValueTask<Errno> UnlinkAsync(FuseContext context, NodeId parent, FileName name, CancellationToken cancellationToken) =>
        RemoveName(context, parent, name, directory: false);

    public override ValueTask<Errno> RmDirAsync(FuseContext context, NodeId parent, FileName name, CancellationToken cancellationToken) =>
        RemoveName(context, parent, name, directory: true);

    private ValueTask<Errno> RemoveName(in FuseContext context, NodeId parent, FileName name, bool directory)
    {
        if (name.Length > Names.NameMax) return Done(Errno.ENAMETOOLONG);
        Span<char> buffer = stackalloc char[Names.NameMax];
        var key = Names.Decode(name, buffer);
        if (directory && key is ".") return Done(Errno.EINVAL);
        if (directory && key is "..") return Done(Errno.ENOTEMPTY);
        _lock.EnterWriteLock();
        try
        {
            var errno = WritableDirectory(parent, context, out var dir);
            if (!errno.IsOk) return Done(errno);
            var entry = dir.Get(key);
            if (entry is null) return Done(Errno.ENOENT);
            var node = entry.Node;
            if (directory)
            {
                if (node is not MemDirectory sub) return Done(Errno.ENOTDIR);
                if (sub.Count != 0) return Done(Errno.ENOTEMPTY);
            }
            else if (node is MemDirectory) return Done(Errno.EISDIR);
            errno = MayDelete(dir, node, context);
            if (!errno.IsOk) return Done(errno);

            var now = TimeSpec.Now;
            dir.Remove(entry);
            dir.Modified(now);
            Unlinked(dir, node, now);
            MaybeFree(node);
            return Done(Errno.Ok);
        }
        finally
        {
            _lock.ExitWriteLock();
        }
    }

    /// <summary>A name of <paramref name="node"/> in <paramref name="dir"/> is gone: link counts and ctime.</summary>
    private static void Unlinked(MemDirectory dir, MemNode node, TimeSpec now)
    {
        if (node is MemDirectory)
        {
            node.NLink = 0;
            dir.NLink--;
        }
        else node.NLink--;
        node.Ctime = now;
    }
}
