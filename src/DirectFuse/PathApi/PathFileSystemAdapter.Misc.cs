using System.Text;
using DirectFuse.LowLevel;

namespace DirectFuse.PathApi;

// File-system-wide requests, permissions and extended attributes.
public sealed partial class PathFileSystemAdapter
{
    /// <inheritdoc/>
    public override async ValueTask<Result<StatFsReply>> StatFsAsync(FuseContext context, NodeId node, CancellationToken cancellationToken) =>
        await _fs.StatFsAsync(PathOf(node) ?? "/", new PathContext(context, cancellationToken)).ConfigureAwait(false);

    /// <inheritdoc/>
    public override async ValueTask<Errno> AccessAsync(FuseContext context, NodeId node, int mask, CancellationToken cancellationToken)
    {
        if (PathOf(node) is not { } path) return Errno.ENOENT;
        return await _fs.AccessAsync(path, mask, new PathContext(context, cancellationToken)).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public override async ValueTask<Errno> SetXattrAsync(FuseContext context, NodeId node, FileName name, ReadOnlyMemory<byte> value, int flags, CancellationToken cancellationToken)
    {
        if (PathOf(node) is not { } path) return Errno.ENOENT;
        return await _fs.SetXattrAsync(path, name.Text, value, flags, new PathContext(context, cancellationToken)).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public override async ValueTask<Result<int>> GetXattrAsync(FuseContext context, NodeId node, FileName name, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        if (PathOf(node) is not { } path) return Errno.ENOENT;
        var result = await _fs.GetXattrAsync(path, name.Text, new PathContext(context, cancellationToken)).ConfigureAwait(false);
        if (!result.TryGetValue(out byte[]? value)) return result.Error;
        if (buffer.IsEmpty) return value.Length; // a size query
        if (value.Length > buffer.Length) return Errno.ERANGE;
        value.CopyTo(buffer);
        return value.Length;
    }

    /// <inheritdoc/>
    public override async ValueTask<Result<int>> ListXattrAsync(FuseContext context, NodeId node, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        if (PathOf(node) is not { } path) return Errno.ENOENT;
        var result = await _fs.ListXattrAsync(path, new PathContext(context, cancellationToken)).ConfigureAwait(false);
        if (!result.TryGetValue(out var names)) return result.Error;
        // The list is the names, each followed by a zero byte.
        int size = 0;
        foreach (string n in names) size += Encoding.UTF8.GetByteCount(n) + 1;
        if (buffer.IsEmpty) return size;
        if (size > buffer.Length) return Errno.ERANGE;
        var span = buffer.Span;
        int at = 0;
        foreach (string n in names)
        {
            at += Encoding.UTF8.GetBytes(n, span[at..]);
            span[at++] = 0;
        }
        return size;
    }

    /// <inheritdoc/>
    public override async ValueTask<Errno> RemoveXattrAsync(FuseContext context, NodeId node, FileName name, CancellationToken cancellationToken)
    {
        if (PathOf(node) is not { } path) return Errno.ENOENT;
        return await _fs.RemoveXattrAsync(path, name.Text, new PathContext(context, cancellationToken)).ConfigureAwait(false);
    }
}
