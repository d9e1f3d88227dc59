using DirectFuse.LowLevel;

namespace DirectFuse.Examples.MemFs;

// Directory handles and listings, access checks and file system statistics.
public sealed partial class MemFileSystem
{
    public override ValueTask<Result<OpenReply>> OpenDirAsync(FuseContext context, NodeId node, int flags, CancellationToken cancellationToken)
    {
        _lock.EnterReadLock();
        try
        {
            var n = Find(node);
            if (n is null) return Done<OpenReply>(Errno.ENOENT);
            if (n is not MemDirectory) return Done<OpenReply>(Errno.ENOTDIR);
            if (!Allowed(n, context, AccessFor(flags))) return Done<OpenReply>(Errno.EACCES);
            // Listings need no per-handle state: offsets are entry cookies (see MemDirectory).
            return Done<OpenReply>(new OpenReply(FileHandle.None));
        }
        finally
        {
            _lock.ExitReadLock();
        }
    }

    public override ValueTask<Errno> ReadDirAsync(FuseContext context, NodeId node, FileHandle handle, long offset, DirectoryBuffer buffer, CancellationToken cancellationToken)
    {
        _lock.EnterReadLock();
        try
        {
            var n = Find(node);
            if (n is null) return Done(Errno.ENOENT);
            if (n is not MemDirectory dir) return Done(Errno.ENOTDIR);
            if (dir.NLink == 0) return Done(Errno.Ok); // a removed directory lists nothing, not even "." and ".."
            // "." and ".." never carry a node id, so they take no lookup reference in READDIRPLUS either.
            if (offset < 1 && !buffer.TryAdd("."u8, dir.Ino, dir.Mode, 1)) return Done(Errno.Ok);
            var parent = dir.Parent ?? dir;
            if (offset < 2 && !buffer.TryAdd(".."u8, parent.Ino, parent.Mode, 2)) return Done(Errno.Ok);
            for (int i = dir.IndexAfter(offset); i < dir.OrderCount; i++)
            {
                var entry = dir.OrderAt(i);
                if (entry.Removed) continue;
                var child = entry.Node;
                if (buffer.IsPlus)
                {
                    child.GetAttr(out var attr);
                    var reply = new EntryReply(new NodeId(child.Ino), attr, _entryTimeout, _attrTimeout);
                    if (!buffer.TryAddPlus(entry.RawName, reply, entry.Cookie)) break;
                    // Only an entry that made it into the reply counts as a lookup.
                    Interlocked.Increment(ref child.Lookups);
                }
                else if (!buffer.TryAdd(entry.RawName, child.Ino, child.Mode, entry.Cookie)) break;
            }
            return Done(Errno.Ok);
        }
        finally
        {
            _lock.ExitReadLock();
        }
    }

    public override ValueTask<Errno> FsyncDirAsync(FuseContext context, NodeId node, FileHandle handle, bool dataOnly, CancellationToken cancellationToken) =>
        Done(Errno.Ok);

    public override ValueTask<Errno> SyncFsAsync(FuseContext context, NodeId node, CancellationToken cancellationToken) => Done(Errno.Ok);

    public override ValueTask<Errno> AccessAsync(FuseContext context, NodeId node, int mask, CancellationToken cancellationToken)
    {
        _lock.EnterReadLock();
        try
        {
            var n = Find(node);
            if (n is null) return Done(Errno.ENOENT);
            return Done(Allowed(n, context, mask & (R | W | X)) ? Errno.Ok : Errno.EACCES);
        }
        finally
        {
            _lock.ExitReadLock();
        }
    }

    public override ValueTask<Result<StatFsReply>> StatFsAsync(FuseContext context, NodeId node, CancellationToken cancellationToken)
    {
        _lock.EnterReadLock();
        try
        {
            ulong free = (ulong)Math.Max(0, _capacityChunks - _usedChunks);
            return Done<StatFsReply>(new StatFsReply
            {
                BlockSize = MemFileData.ChunkSize,
                FragmentSize = MemFileData.ChunkSize,
                Blocks = (ulong)_capacityChunks,
                BlocksFree = free,
                BlocksAvailable = free,
                Files = (ulong)_maxNodes,
                FilesFree = (ulong)Math.Max(0, _maxNodes - _nodes.Count),
                NameMax = Names.NameMax,
            });
        }
        finally
        {
            _lock.ExitReadLock();
        }
    }
}
