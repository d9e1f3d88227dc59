using System.Text;
using DirectFuse.LowLevel;

namespace DirectFuse.PathApi;

// Requests that create, link, rename and remove names.
public sealed partial class PathFileSystemAdapter
{
    /// <inheritdoc/>
    public override async ValueTask<Result<int>> ReadLinkAsync(FuseContext context, NodeId node, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        if (PathOf(node) is not { } path) return Errno.ENOENT;
        var result = await _fs.ReadLinkAsync(path, new PathContext(context, cancellationToken)).ConfigureAwait(false);
        if (!result.TryGetValue(out string? target)) return result.Error;
        if (Encoding.UTF8.GetByteCount(target) > buffer.Length) return Errno.ENAMETOOLONG;
        return Encoding.UTF8.GetBytes(target, buffer.Span);
    }

    /// <inheritdoc/>
    public override async ValueTask<Result<EntryReply>> MkNodAsync(FuseContext context, NodeId parent, FileName name, uint mode, uint rdev, CancellationToken cancellationToken)
    {
        if (ChildPath(parent, name, out string child) is not { } path) return Errno.ENOENT;
        var ctx = new PathContext(context, cancellationToken);
        var errno = await _fs.MkNodAsync(path, mode, rdev, ctx).ConfigureAwait(false);
        return errno.IsOk ? await EntryForAsync(parent, child, path, null, ctx).ConfigureAwait(false) : errno;
    }

    /// <inheritdoc/>
    public override async ValueTask<Result<EntryReply>> MkDirAsync(FuseContext context, NodeId parent, FileName name, uint mode, CancellationToken cancellationToken)
    {
        if (ChildPath(parent, name, out string child) is not { } path) return Errno.ENOENT;
        var ctx = new PathContext(context, cancellationToken);
        var errno = await _fs.MkDirAsync(path, mode & PermissionBits, ctx).ConfigureAwait(false);
        return errno.IsOk ? await EntryForAsync(parent, child, path, null, ctx).ConfigureAwait(false) : errno;
    }

    /// <inheritdoc/>
    public override async ValueTask<Result<EntryReply>> SymLinkAsync(FuseContext context, NodeId parent, FileName name, FileName target, CancellationToken cancellationToken)
    {
        string targetText = target.Text;
        if (ChildPath(parent, name, out string child) is not { } path) return Errno.ENOENT;
        var ctx = new PathContext(context, cancellationToken);
        var errno = await _fs.SymLinkAsync(targetText, path, ctx).ConfigureAwait(false);
        return errno.IsOk ? await EntryForAsync(parent, child, path, null, ctx).ConfigureAwait(false) : errno;
    }

    /// <inheritdoc/>
    public override async ValueTask<Result<EntryReply>> LinkAsync(FuseContext context, NodeId node, NodeId newParent, FileName newName, CancellationToken cancellationToken)
    {
        if (PathOf(node) is not { } from || ChildPath(newParent, newName, out string child) is not { } to) return Errno.ENOENT;
        var ctx = new PathContext(context, cancellationToken);
        var errno = await _fs.LinkAsync(from, to, ctx).ConfigureAwait(false);
        // The new name gets a node of its own, as in libfuse: nodes stand for paths, not for inodes.
        return errno.IsOk ? await EntryForAsync(newParent, child, to, null, ctx).ConfigureAwait(false) : errno;
    }

    /// <inheritdoc/>
    public override async ValueTask<Errno> UnlinkAsync(FuseContext context, NodeId parent, FileName name, CancellationToken cancellationToken)
    {
        if (PathOf(parent) is not { } dir) return Errno.ENOENT;
        string child = name.Text;
        var ctx = new PathContext(context, cancellationToken);
        if (!Options.HardRemove && _nodes.IsOpen(parent, child) && await HideAsync(parent, dir, child, ctx).ConfigureAwait(false))
            return Errno.Ok;
        var errno = await _fs.UnlinkAsync(NodeTable.Join(dir, child), ctx).ConfigureAwait(false);
        if (errno.IsOk) _nodes.Remove(parent, child);
        return errno;
    }

    /// <inheritdoc/>
    public override async ValueTask<Errno> RmDirAsync(FuseContext context, NodeId parent, FileName name, CancellationToken cancellationToken)
    {
        if (ChildPath(parent, name, out string child) is not { } path) return Errno.ENOENT;
        var errno = await _fs.RmDirAsync(path, new PathContext(context, cancellationToken)).ConfigureAwait(false);
        if (errno.IsOk) _nodes.Remove(parent, child);
        return errno;
    }

    /// <inheritdoc/>
    public override async ValueTask<Errno> RenameAsync(FuseContext context, NodeId parent, FileName name, NodeId newParent, FileName newName, RenameFlags flags, CancellationToken cancellationToken)
    {
        if (ChildPath(parent, name, out string fromName) is not { } from) return Errno.ENOENT;
        if (PathOf(newParent) is not { } toDir) return Errno.ENOENT;
        string toName = newName.Text;
        string to = NodeTable.Join(toDir, toName);
        var ctx = new PathContext(context, cancellationToken);
        bool exchange = (flags & RenameFlags.Exchange) != 0;
        // An open file about to be replaced is hidden first, so its open descriptors keep their data (libfuse does the same).
        if (!exchange && !Options.HardRemove && _nodes.IsOpen(newParent, toName))
            await HideAsync(newParent, toDir, toName, ctx).ConfigureAwait(false);
        var errno = await _fs.RenameAsync(from, to, flags, ctx).ConfigureAwait(false);
        if (errno.IsOk) _nodes.Rename(parent, fromName, newParent, toName, exchange);
        return errno;
    }

    /// <summary>
    /// Renames the open file <paramref name="name"/> to an unused <c>.fuse_hidden…</c> name in the same directory
    /// instead of removing it; its last RELEASE unlinks it. False if that failed (the caller then removes the
    /// file for real).
    /// </summary>
    private async ValueTask<bool> HideAsync(NodeId parent, string directory, string name, PathContext context)
    {
        if (_nodes.Find(parent, name) is not { } node) return false;
        for (int attempt = 0; attempt < 10; attempt++)
        {
            string hiddenName = _nodes.NewHiddenName(node);
            string hiddenPath = NodeTable.Join(directory, hiddenName);
            var existing = await _fs.GetAttrAsync(hiddenPath, null, context).ConfigureAwait(false);
            if (existing.IsOk) continue;
            var errno = await _fs.RenameAsync(NodeTable.Join(directory, name), hiddenPath, RenameFlags.None, context).ConfigureAwait(false);
            if (!errno.IsOk) return false;
            // The file may have been closed while it was being renamed: then nobody else will delete it.
            if (_nodes.MoveToHidden(parent, name, hiddenName) is { } closed) await DeleteHiddenAsync(closed, context).ConfigureAwait(false);
            return true;
        }
        return false;
    }

    private async ValueTask DeleteHiddenAsync(NodeTable.HiddenFile hidden, PathContext context)
    {
        var errno = await _fs.UnlinkAsync(hidden.Path, context).ConfigureAwait(false);
        if (errno.IsOk) _nodes.Remove(hidden.Parent, hidden.Name);
    }
}
