using DirectFuse.LowLevel;

namespace DirectFuse.PathApi;

// Requests on open files. File handles are the file system's own and pass through unchanged.
public sealed partial class PathFileSystemAdapter
{
    /// <inheritdoc/>
    public override async ValueTask<Result<OpenReply>> OpenAsync(FuseContext context, NodeId node, int flags, CancellationToken cancellationToken)
    {
        if (PathOf(node) is not { } path) return Errno.ENOENT;
        var result = await _fs.OpenAsync(path, flags, new PathContext(context, cancellationToken)).ConfigureAwait(false);
        if (result.IsOk) _nodes.AddOpen(node);
        return result;
    }

    /// <inheritdoc/>
    public override async ValueTask<Result<CreateReply>> CreateAsync(FuseContext context, NodeId parent, FileName name, uint mode, int flags, CancellationToken cancellationToken)
    {
        if (ChildPath(parent, name, out string child) is not { } path) return Errno.ENOENT;
        var ctx = new PathContext(context, cancellationToken);
        var opened = await _fs.CreateAsync(path, mode & PermissionBits, flags, ctx).ConfigureAwait(false);
        if (!opened.TryGetValue(out var open)) return opened.Error; // ENOSYS: the kernel falls back to MKNOD + OPEN
        var entry = await EntryForAsync(parent, child, path, open.Handle, ctx).ConfigureAwait(false);
        if (!entry.TryGetValue(out var e))
        {
            // The kernel will never release a file it did not get: release it here (as libfuse does).
            await _fs.ReleaseAsync(path, open.Handle, flags, ctx).ConfigureAwait(false);
            return entry.Error;
        }
        _nodes.AddOpen(e.NodeId);
        return new CreateReply(e, open);
    }

    /// <inheritdoc/>
    public override async ValueTask<Result<int>> ReadAsync(FuseContext context, NodeId node, FileHandle handle, long offset, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        if (PathOf(node, viaHandle: true) is not { } path) return Errno.ENOENT;
        return await _fs.ReadAsync(path, handle, offset, buffer, new PathContext(context, cancellationToken)).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public override async ValueTask<Result<int>> WriteAsync(FuseContext context, NodeId node, FileHandle handle, long offset, ReadOnlyMemory<byte> data, WriteFlags flags, CancellationToken cancellationToken)
    {
        if (PathOf(node, viaHandle: true) is not { } path) return Errno.ENOENT;
        return await _fs.WriteAsync(path, handle, offset, data, new PathContext(context, cancellationToken)).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public override async ValueTask<Errno> FlushAsync(FuseContext context, NodeId node, FileHandle handle, ulong lockOwner, CancellationToken cancellationToken)
    {
        if (PathOf(node, viaHandle: true) is not { } path) return Errno.ENOENT;
        return await _fs.FlushAsync(path, handle, lockOwner, new PathContext(context, cancellationToken)).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public override async ValueTask<Errno> ReleaseAsync(FuseContext context, NodeId node, FileHandle handle, int flags, ReleaseFlags releaseFlags, ulong lockOwner, CancellationToken cancellationToken)
    {
        var ctx = new PathContext(context, cancellationToken);
        Errno errno;
        try
        {
            // Always release, so the file system can free what the handle holds, even if the node is unknown.
            errno = await _fs.ReleaseAsync(PathOf(node, viaHandle: true) ?? "", handle, flags, ctx).ConfigureAwait(false);
        }
        finally
        {
            if (_nodes.RemoveOpen(node) is { } hidden) await DeleteHiddenAsync(hidden, ctx).ConfigureAwait(false);
        }
        return errno;
    }

    /// <inheritdoc/>
    public override async ValueTask<Errno> FsyncAsync(FuseContext context, NodeId node, FileHandle handle, bool dataOnly, CancellationToken cancellationToken)
    {
        if (PathOf(node, viaHandle: true) is not { } path) return Errno.ENOENT;
        return await _fs.FsyncAsync(path, handle, dataOnly, new PathContext(context, cancellationToken)).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public override async ValueTask<Errno> FallocateAsync(FuseContext context, NodeId node, FileHandle handle, long offset, long length, int mode, CancellationToken cancellationToken)
    {
        if (PathOf(node, viaHandle: true) is not { } path) return Errno.ENOENT;
        return await _fs.FallocateAsync(path, handle, offset, length, mode, new PathContext(context, cancellationToken)).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public override async ValueTask<Result<long>> LseekAsync(FuseContext context, NodeId node, FileHandle handle, long offset, int whence, CancellationToken cancellationToken)
    {
        if (PathOf(node, viaHandle: true) is not { } path) return Errno.ENOENT;
        return await _fs.LseekAsync(path, handle, offset, whence, new PathContext(context, cancellationToken)).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public override async ValueTask<Result<FileLock>> GetLkAsync(FuseContext context, NodeId node, FileHandle handle, ulong owner, FileLock @lock, CancellationToken cancellationToken)
    {
        if (PathOf(node, viaHandle: true) is not { } path) return Errno.ENOENT;
        return await _fs.GetLockAsync(path, MapHandle(node, handle), owner, @lock, new PathContext(context, cancellationToken)).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public override async ValueTask<Errno> SetLkAsync(FuseContext context, NodeId node, FileHandle handle, ulong owner, FileLock @lock, bool wait, bool isFlock, CancellationToken cancellationToken)
    {
        if (PathOf(node, viaHandle: true) is not { } path) return Errno.ENOENT;
        var ctx = new PathContext(context, cancellationToken);
        var mapped = MapHandle(node, handle); // flock(2) works on directories too
        return isFlock
            ? await _fs.FlockAsync(path, mapped, owner, @lock.Type, wait, ctx).ConfigureAwait(false)
            : await _fs.SetLockAsync(path, mapped, owner, @lock, wait, ctx).ConfigureAwait(false);
    }
}
