using DirectFuse.DirectMmap;
using DirectFuse.LowLevel;

namespace DirectFuse.Examples.Shmfs;

// The FUSE requests: names and directories, attributes, and opens that hand out regions.
public sealed partial class ShmFileSystem
{
    private const int O_TRUNC = 0x200;

    public override ValueTask<Result<EntryReply>> LookupAsync(FuseContext context, NodeId parent, FileName name, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            if (!TryNode(parent, out var dir) || dir.Children is null) return Done<EntryReply>(Errno.ENOTDIR);
            if (!Permissions.MayAccess(context, dir.Ownership, AccessMode.Execute)) return Done<EntryReply>(Errno.EACCES);
            return Done<EntryReply>(dir.Children.TryGetValue(name.Text, out var child) ? Entry(child) : Errno.ENOENT);
        }
    }

    public override void Forget(NodeId node, ulong count)
    {
        lock (_lock)
        {
            if (!TryNode(node, out var n) || n.Ino == 1) return;
            n.Lookups = count >= n.Lookups ? 0 : n.Lookups - count;
            FreeIfUnused(n);
        }
    }

    public override ValueTask<Result<AttrReply>> GetAttrAsync(FuseContext context, NodeId node, FileHandle? handle, CancellationToken cancellationToken)
    {
        lock (_lock) return Done<AttrReply>(TryNode(node, out var n) ? new AttrReply(n.Attr, Timeout) : Errno.ENOENT);
    }

    public override async ValueTask<Result<AttrReply>> SetAttrAsync(FuseContext context, NodeId node, SetAttrRequest r, CancellationToken cancellationToken)
    {
        if (r.Has(SetAttrFields.Size)) await WaitForReleasesAsync(node, cancellationToken);
        return SetAttr(context, node, r);
    }

    /// <summary>
    /// close(2) returns before the kernel's RELEASE reaches us, so "close, then truncate" would find the file
    /// still sealed; a size change waits a moment for releases in flight.
    /// </summary>
    private async Task WaitForReleasesAsync(NodeId node, CancellationToken cancellationToken)
    {
        Task closed;
        lock (_lock)
        {
            if (!TryNode(node, out var n) || n.OpenMode != ShmOpenMode.Passthrough) return;
            n.Closed ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            closed = n.Closed.Task;
        }
        try
        {
            await closed.WaitAsync(TimeSpan.FromMilliseconds(250), cancellationToken);
        }
        catch (TimeoutException)
        {
            // Still open: the size stays sealed.
        }
    }

    private Result<AttrReply> SetAttr(in FuseContext context, NodeId node, SetAttrRequest r)
    {
        lock (_lock)
        {
            if (!TryNode(node, out var n)) return Errno.ENOENT;
            if (r.Has(SetAttrFields.Size) && n.IsDirectory) return Errno.EISDIR;
            if (r.Has(SetAttrFields.Size) && r.Size < 0) return Errno.EINVAL;
            var errno = Permissions.CheckSetAttr(context, n.Ownership, r);
            if (!errno.IsOk) return errno;
            if (r.Has(SetAttrFields.Size))
            {
                errno = Resize(n, r.Size);
                if (!errno.IsOk) return errno;
            }
            n.Mode = Permissions.ModeAfterSetAttr(context, n.Ownership, r);
            if (r.Has(SetAttrFields.Uid)) n.Uid = r.Uid;
            if (r.Has(SetAttrFields.Gid)) n.Gid = r.Gid;
            if (r.Has(SetAttrFields.AtimeNow)) n.Atime = TimeSpec.Now;
            else if (r.Has(SetAttrFields.Atime)) n.Atime = r.Atime;
            if (r.Has(SetAttrFields.MtimeNow)) n.Mtime = TimeSpec.Now;
            else if (r.Has(SetAttrFields.Mtime)) n.Mtime = r.Mtime;
            n.Ctime = TimeSpec.Now;
            return new AttrReply(n.Attr, Timeout);
        }
    }

    public override ValueTask<Result<EntryReply>> MkDirAsync(FuseContext context, NodeId parent, FileName name, uint mode, CancellationToken cancellationToken) =>
        Done(AddChild(context, parent, name.Text, StatMode.Directory | (mode & 0xFFF)));

    public override ValueTask<Result<EntryReply>> MkNodAsync(FuseContext context, NodeId parent, FileName name, uint mode, uint rdev, CancellationToken cancellationToken) =>
        Done(StatMode.IsRegular(mode) ? AddChild(context, parent, name.Text, mode) : Errno.EPERM); // regions only: no devices, fifos or sockets

    public override ValueTask<Result<CreateReply>> CreateAsync(FuseContext context, NodeId parent, FileName name, uint mode, int flags, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            var entry = AddChild(context, parent, name.Text, StatMode.Regular | (mode & 0xFFF));
            if (!entry.TryGetValue(out var e)) return Done<CreateReply>(entry.Error);
            var open = OpenNode(context, _nodes[e.NodeId.Value], flags);
            return Done<CreateReply>(open.TryGetValue(out var o) ? new CreateReply(e, o) : open.Error);
        }
    }

    private Result<EntryReply> AddChild(FuseContext context, NodeId parent, string name, uint mode)
    {
        lock (_lock)
        {
            if (!TryNode(parent, out var dir) || dir.Children is null) return Errno.ENOTDIR;
            if (dir.Children.ContainsKey(name)) return Errno.EEXIST;
            var errno = Permissions.CheckCreate(context, dir.Ownership);
            if (!errno.IsOk) return errno;
            var owner = Permissions.ForNewNode(context, dir.Ownership, mode);
            var node = new ShmNode(_nextIno++, owner.Mode, owner.Uid, owner.Gid) { Parent = dir };
            if (node.IsDirectory)
            {
                node.Children = new(StringComparer.Ordinal);
                dir.NLink++;
            }
            _nodes[node.Ino] = node;
            dir.Children[name] = node;
            dir.Mtime = dir.Ctime = TimeSpec.Now;
            return Entry(node);
        }
    }

    public override ValueTask<Errno> UnlinkAsync(FuseContext context, NodeId parent, FileName name, CancellationToken cancellationToken) =>
        Done(Remove(context, parent, name.Text, directory: false));

    public override ValueTask<Errno> RmDirAsync(FuseContext context, NodeId parent, FileName name, CancellationToken cancellationToken) =>
        Done(Remove(context, parent, name.Text, directory: true));

    private Errno Remove(in FuseContext context, NodeId parent, string name, bool directory)
    {
        lock (_lock)
        {
            if (!TryNode(parent, out var dir) || dir.Children is null) return Errno.ENOTDIR;
            if (!dir.Children.TryGetValue(name, out var child)) return Errno.ENOENT;
            var errno = Permissions.CheckRemove(context, dir.Ownership, child.Ownership);
            if (!errno.IsOk) return errno;
            if (directory && !child.IsDirectory) return Errno.ENOTDIR;
            if (!directory && child.IsDirectory) return Errno.EISDIR;
            if (directory && child.Children!.Count > 0) return Errno.ENOTEMPTY;
            Detach(dir, name, child);
            return Errno.Ok;
        }
    }

    private void Detach(ShmNode dir, string name, ShmNode child)
    {
        dir.Children!.Remove(name);
        dir.Mtime = dir.Ctime = TimeSpec.Now;
        if (child.IsDirectory) dir.NLink--;
        child.NLink = 0;
        child.Parent = null;
        child.Ctime = TimeSpec.Now;
        FreeIfUnused(child);
    }

    public override ValueTask<Errno> RenameAsync(FuseContext context, NodeId parent, FileName name, NodeId newParent, FileName newName, RenameFlags flags, CancellationToken cancellationToken)
    {
        if ((flags & ~RenameFlags.NoReplace) != 0) return Done(Errno.EINVAL);
        lock (_lock)
        {
            if (!TryNode(parent, out var from) || from.Children is null || !TryNode(newParent, out var to) || to.Children is null) return Done(Errno.ENOTDIR);
            string oldKey = name.Text, newKey = newName.Text;
            if (!from.Children.TryGetValue(oldKey, out var node)) return Done(Errno.ENOENT);
            for (var up = to; ; up = up.Parent!)
            {
                if (up == node) return Done(Errno.EINVAL); // a directory cannot move below itself
                if (up.Ino == 1) break;
            }
            var errno = Permissions.CheckRemove(context, from.Ownership, node.Ownership);
            if (errno.IsOk) errno = to.Children.TryGetValue(newKey, out var replaced)
                ? Permissions.CheckRemove(context, to.Ownership, replaced.Ownership)
                : Permissions.CheckCreate(context, to.Ownership);
            // A directory that changes parent rewrites its "..": that needs write permission on it.
            if (errno.IsOk && from != to) errno = Permissions.CheckReparent(context, node.Ownership);
            if (!errno.IsOk) return Done(errno);
            if (to.Children.TryGetValue(newKey, out var existing))
            {
                if (existing == node) return Done(Errno.Ok);
                if ((flags & RenameFlags.NoReplace) != 0) return Done(Errno.EEXIST);
                if (existing.IsDirectory != node.IsDirectory) return Done(existing.IsDirectory ? Errno.EISDIR : Errno.ENOTDIR);
                if (existing.IsDirectory && existing.Children!.Count > 0) return Done(Errno.ENOTEMPTY);
                Detach(to, newKey, existing);
            }
            from.Children.Remove(oldKey);
            to.Children[newKey] = node;
            if (node.IsDirectory && from != to) { from.NLink--; to.NLink++; }
            node.Parent = to;
            node.Ctime = from.Mtime = from.Ctime = to.Mtime = to.Ctime = TimeSpec.Now;
            return Done(Errno.Ok);
        }
    }

    public override async ValueTask<Result<OpenReply>> OpenAsync(FuseContext context, NodeId node, int flags, CancellationToken cancellationToken)
    {
        // O_TRUNC resizes: give a release still in flight (close, then reopen) the chance to unseal the file.
        if ((flags & O_TRUNC) != 0) await WaitForReleasesAsync(node, cancellationToken);
        lock (_lock)
        {
            if (!TryNode(node, out var n)) return Errno.ENOENT;
            if (!Permissions.MayAccess(context, n.Ownership, Permissions.ForOpen(flags))) return Errno.EACCES;
            return OpenNode(context, n, flags);
        }
    }

    /// <summary>
    /// Opens a file: the region itself when it has one and nobody serves it otherwise; a served open if not.
    /// Permission to open was checked (or the caller just created the file). Caller holds the lock.
    /// </summary>
    private Result<OpenReply> OpenNode(in FuseContext context, ShmNode n, int flags)
    {
        if ((flags & O_TRUNC) != 0)
        {
            var errno = Resize(n, 0);
            if (!errno.IsOk) return errno;
            n.Mode = Permissions.ModeAfterTruncatingOpen(context, n.Ownership);
        }
        if (n.Region is { } region && n.OpenMode != ShmOpenMode.Served && Binder.Mode == DirectMmapMode.Passthrough)
        {
            var opened = Binder.Open(new NodeId(n.Ino), region);
            if (!opened.TryGetValue(out var reply)) return opened.Error;
            if ((reply.Flags & OpenReplyFlags.Passthrough) != 0)
            {
                // Its writes will never reach us to clear the set-ID bits (HANDLE_KILLPRIV_V2): do it now.
                if ((Permissions.ForOpen(flags) & AccessMode.Write) != 0 && !Permissions.IsPrivileged(context)) n.Mode = Permissions.DropSetId(context, n.Ownership);
                n.OpenMode = ShmOpenMode.Passthrough;
                n.Opens++;
                _handles[reply.Handle.Value] = (n, true);
                return reply;
            }
            Binder.Release(reply.Handle); // the kernel refused backing files: serve it instead
        }
        if (n.OpenMode == ShmOpenMode.Passthrough) return Errno.EIO; // unreachable: a region exists while passthrough-open
        n.OpenMode = ShmOpenMode.Served;
        n.Opens++;
        ulong handle = _nextHandle++;
        _handles[handle] = (n, false);
        return new OpenReply(new FileHandle(handle));
    }

    public override ValueTask<Result<int>> ReadAsync(FuseContext context, NodeId node, FileHandle handle, long offset, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            if (!_handles.TryGetValue(handle.Value, out var open)) return Done<int>(Errno.EBADF);
            var region = open.Node.Region;
            if (region is null || offset >= region.Length) return Done<int>(0);
            int n = (int)Math.Min(buffer.Length, region.Length - offset);
            region.GetSpan(offset, n).CopyTo(buffer.Span);
            return Done<int>(n);
        }
    }

    public override ValueTask<Result<int>> WriteAsync(FuseContext context, NodeId node, FileHandle handle, long offset, ReadOnlyMemory<byte> data, WriteFlags flags, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            if (!_handles.TryGetValue(handle.Value, out var open)) return Done<int>(Errno.EBADF);
            var n = open.Node;
            if (offset + data.Length > n.Size)
            {
                var errno = Resize(n, offset + data.Length);
                if (!errno.IsOk) return Done<int>(errno);
            }
            if (data.Length > 0) data.Span.CopyTo(n.Region!.GetSpan(offset, data.Length));
            n.Mode = Permissions.ModeAfterWrite(context, n.Ownership, flags);
            n.Mtime = n.Ctime = TimeSpec.Now;
            return Done<int>(data.Length);
        }
    }

    public override ValueTask<Errno> ReleaseAsync(FuseContext context, NodeId node, FileHandle handle, int flags, ReleaseFlags releaseFlags, ulong lockOwner, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            if (!_handles.Remove(handle.Value, out var open)) return Done(Errno.Ok); // a directory handle
            if (open.ViaBinder) Binder.Release(handle);
            var n = open.Node;
            if (--n.Opens == 0)
            {
                n.OpenMode = ShmOpenMode.Closed;
                n.Closed?.TrySetResult();
                n.Closed = null;
            }
            FreeIfUnused(n);
            return Done(Errno.Ok);
        }
    }

    public override ValueTask<Errno> AccessAsync(FuseContext context, NodeId node, int mask, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            if (!TryNode(node, out var n)) return Done(Errno.ENOENT);
            return Done(Permissions.CheckAccess(context, n.Ownership, (AccessMode)(mask & 7)));
        }
    }

    public override ValueTask<Errno> FlushAsync(FuseContext context, NodeId node, FileHandle handle, ulong lockOwner, CancellationToken cancellationToken) => Done(Errno.Ok);

    public override ValueTask<Errno> FsyncAsync(FuseContext context, NodeId node, FileHandle handle, bool dataOnly, CancellationToken cancellationToken) => Done(Errno.Ok);

    public override ValueTask<Result<OpenReply>> OpenDirAsync(FuseContext context, NodeId node, int flags, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            if (!TryNode(node, out var dir)) return Done<OpenReply>(Errno.ENOENT);
            if (!dir.IsDirectory) return Done<OpenReply>(Errno.ENOTDIR);
            if (!Permissions.MayAccess(context, dir.Ownership, Permissions.ForOpen(flags))) return Done<OpenReply>(Errno.EACCES);
            return Done<OpenReply>(new OpenReply(FileHandle.None));
        }
    }

    public override ValueTask<Errno> ReadDirAsync(FuseContext context, NodeId node, FileHandle handle, long offset, DirectoryBuffer buffer, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            if (!TryNode(node, out var dir) || dir.Children is null) return Done(Errno.ENOTDIR);
            if (offset < 1 && !buffer.TryAdd(".", dir.Ino, dir.Mode, 1)) return Done(Errno.Ok);
            if (offset < 2 && !buffer.TryAdd("..", dir.Parent?.Ino ?? 1, StatMode.Directory, 2)) return Done(Errno.Ok);
            long index = 2;
            foreach (var (name, child) in dir.Children)
            {
                index++;
                if (index <= offset) continue;
                bool added = buffer.IsPlus
                    ? buffer.TryAddPlus(name, new EntryReply(new NodeId(child.Ino), child.Attr, _entryTimeout, Timeout), index)
                    : buffer.TryAdd(name, child.Ino, child.Mode, index);
                if (!added) break;
                if (buffer.IsPlus) child.Lookups++;
            }
            return Done(Errno.Ok);
        }
    }

    public override ValueTask<Result<StatFsReply>> StatFsAsync(FuseContext context, NodeId node, CancellationToken cancellationToken)
    {
        var usage = AddressSpace.Usage;
        ulong page = (ulong)MmapAddressSpace.PageSize;
        ulong total = (ulong)usage.Quota / page, free = (ulong)(usage.Quota - usage.Reserved) / page;
        lock (_lock)
            return Done<StatFsReply>(new StatFsReply
            {
                Blocks = total, BlocksFree = free, BlocksAvailable = free, Files = 1 << 20, FilesFree = (ulong)(1 << 20) - (ulong)_nodes.Count,
                BlockSize = (uint)page, FragmentSize = (uint)page, NameMax = 255,
            });
    }
}
