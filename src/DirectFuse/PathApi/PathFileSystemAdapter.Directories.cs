using DirectFuse.LowLevel;

namespace DirectFuse.PathApi;

// Directory handles and listings. The adapter hands the kernel handles of its own for open directories,
// to keep the listing of a whole-listing ReadDir between the kernel's READDIR calls.
public sealed partial class PathFileSystemAdapter
{
    private sealed class OpenDirectory(NodeId node, FileHandle handle)
    {
        public NodeId Node { get; } = node;
        /// <summary>The file system's own handle.</summary>
        public FileHandle Handle { get; } = handle;
        /// <summary>The last whole listing; READDIR at an offset above 0 is answered from it.</summary>
        public List<DirectoryFiller.ListedEntry>? Listing;
        /// <summary>The file system lists with offsets of its own: every READDIR goes to it.</summary>
        public bool OwnOffsets;
    }

    /// <summary>The file system's handle for <paramref name="handle"/>: directories opened through the adapter carry the adapter's.</summary>
    private FileHandle MapHandle(NodeId node, FileHandle handle) =>
        _directories.TryGetValue(handle.Value, out var dir) && dir.Node == node ? dir.Handle : handle;

    /// <inheritdoc/>
    public override async ValueTask<Result<OpenReply>> OpenDirAsync(FuseContext context, NodeId node, int flags, CancellationToken cancellationToken)
    {
        if (PathOf(node) is not { } path) return Errno.ENOENT;
        var result = await _fs.OpenDirAsync(path, flags, new PathContext(context, cancellationToken)).ConfigureAwait(false);
        if (!result.TryGetValue(out var open)) return result;
        ulong id = (ulong)Interlocked.Increment(ref _lastDirectoryHandle);
        _directories[id] = new OpenDirectory(node, open.Handle);
        return new OpenReply(new FileHandle(id), open.Flags, open.BackingId);
    }

    /// <inheritdoc/>
    public override async ValueTask<Errno> ReadDirAsync(FuseContext context, NodeId node, FileHandle handle, long offset, DirectoryBuffer buffer, CancellationToken cancellationToken)
    {
        // The kernel serializes READDIR on one open directory (f_pos lock), so its state needs no lock.
        if (!_directories.TryGetValue(handle.Value, out var dir)) return Errno.EBADF;
        if (dir.OwnOffsets || dir.Listing is null || offset == 0)
        {
            if (PathOf(node, viaHandle: true) is not { } path) return Errno.ENOENT;
            var filler = new DirectoryFiller(this, node, buffer);
            var errno = await _fs.ReadDirAsync(path, dir.Handle, offset, filler, new PathContext(context, cancellationToken)).ConfigureAwait(false);
            if (!errno.IsOk) return errno;
            if (filler.UsedOwnOffsets)
            {
                dir.OwnOffsets = true;
                return Errno.Ok;
            }
            dir.Listing = filler.Listing ?? [];
        }
        // A whole listing: entry i continues at offset i + 1.
        var listing = dir.Listing;
        for (long i = Math.Max(0, offset); i < listing.Count; i++)
        {
            var entry = listing[(int)i];
            if (!TryAddEntry(buffer, node, entry.Name, entry.Mode, entry.Attr, i + 1)) break;
        }
        return Errno.Ok;
    }

    /// <inheritdoc/>
    public override async ValueTask<Errno> ReleaseDirAsync(FuseContext context, NodeId node, FileHandle handle, int flags, CancellationToken cancellationToken)
    {
        if (!_directories.TryRemove(handle.Value, out var dir)) return Errno.EBADF;
        return await _fs.ReleaseDirAsync(PathOf(node, viaHandle: true) ?? "", dir.Handle, new PathContext(context, cancellationToken)).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public override async ValueTask<Errno> FsyncDirAsync(FuseContext context, NodeId node, FileHandle handle, bool dataOnly, CancellationToken cancellationToken)
    {
        if (PathOf(node, viaHandle: true) is not { } path) return Errno.ENOENT;
        return await _fs.FsyncDirAsync(path, MapHandle(node, handle), dataOnly, new PathContext(context, cancellationToken)).ConfigureAwait(false);
    }

    /// <summary>
    /// Adds one entry to a READDIR(PLUS) reply. In plus mode an entry with complete attributes is an implicit
    /// lookup: its node takes a reference, given back if the entry does not fit.
    /// </summary>
    internal bool TryAddEntry(DirectoryBuffer buffer, NodeId directory, string name, uint mode, FileAttr? attr, long nextOffset)
    {
        bool dots = name is "." or "..";
        if (buffer.IsPlus && attr is { } a && !dots && _nodes.AddLookup(directory, name, a.Mode) is { } node)
        {
            Fix(ref a, node);
            if (buffer.TryAddPlus(name, new EntryReply(node, a, _entryTimeout, _attrTimeout), nextOffset)) return true;
            _nodes.Forget(node, 1);
            return false;
        }
        // A plain entry (in plus mode one without a node, which the kernel does not count).
        ulong ino = Options.UseInodeNumbers && attr is { } known ? known.Ino
            : name == "." ? directory.Value
            : _nodes.Find(directory, name)?.Value ?? NodeTable.UnknownIno;
        return buffer.TryAdd(name, ino, mode, nextOffset);
    }
}
