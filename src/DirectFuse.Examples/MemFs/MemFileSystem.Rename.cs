using DirectFuse.LowLevel;

namespace DirectFuse.Examples.MemFs;

// rename(2) and renameat2(2) with RENAME_NOREPLACE and RENAME_EXCHANGE.
public sealed partial class MemFileSystem
{
    public override ValueTask<Errno> RenameAsync(FuseContext context, NodeId parent, FileName name, NodeId newParent, FileName newName, RenameFlags flags, CancellationToken cancellationToken)
    {
        if ((flags & ~(RenameFlags.NoReplace | RenameFlags.Exchange)) != 0) return Done(Errno.EINVAL);
        if (flags == (RenameFlags.NoReplace | RenameFlags.Exchange)) return Done(Errno.EINVAL);
        if (name.Length > Names.NameMax || newName.Length > Names.NameMax) return Done(Errno.ENAMETOOLONG);
        Span<char> buffer = stackalloc char[Names.NameMax];
        Span<char> newBuffer = stackalloc char[Names.NameMax];
        var key = Names.Decode(name, buffer);
        var newKey = Names.Decode(newName, newBuffer);
        if (key is "." or ".." || newKey is "." or "..") return Done(Errno.EINVAL);
        _lock.EnterWriteLock();
        try
        {
            return Done(Rename(context, parent, key, newParent, newKey, flags));
        }
        finally
        {
            _lock.ExitWriteLock();
        }
    }

    private Errno Rename(in FuseContext context, NodeId parent, ReadOnlySpan<char> key, NodeId newParent, ReadOnlySpan<char> newKey, RenameFlags flags)
    {
        var errno = WritableDirectory(parent, context, out var dir);
        if (!errno.IsOk) return errno;
        errno = WritableDirectory(newParent, context, out var newDir);
        if (!errno.IsOk) return errno;
        var entry = dir.Get(key);
        if (entry is null) return Errno.ENOENT;
        var newEntry = newDir.Get(newKey);
        var node = entry.Node;
        var other = newEntry?.Node;

        errno = MayDelete(dir, node, context);
        if (errno.IsOk && other is not null) errno = MayDelete(newDir, other, context);
        // A directory that changes parent rewrites its "..": that needs write permission on it.
        if (errno.IsOk && dir != newDir) errno = Permissions.CheckReparent(context, node.Ownership);
        if (!errno.IsOk) return errno;

        var now = TimeSpec.Now;
        if ((flags & RenameFlags.Exchange) != 0)
        {
            if (newEntry is null || other is null) return Errno.ENOENT;
            if (node == other) return Errno.Ok;
            if (dir != newDir)
            {
                errno = Permissions.CheckReparent(context, other.Ownership);
                if (!errno.IsOk) return errno;
                if (node is MemDirectory d1 && IsSelfOrAncestor(d1, newDir)) return Errno.EINVAL;
                if (other is MemDirectory d2 && IsSelfOrAncestor(d2, dir)) return Errno.EINVAL;
            }
            // Both names stay where they are (and keep their readdir offsets); the nodes trade places.
            entry.Node = other;
            newEntry.Node = node;
            if (dir != newDir)
            {
                Reparent(node, dir, newDir);
                Reparent(other, newDir, dir);
            }
            node.Ctime = other.Ctime = now;
            dir.Modified(now);
            newDir.Modified(now);
            return Errno.Ok;
        }

        if (other is not null)
        {
            if ((flags & RenameFlags.NoReplace) != 0) return Errno.EEXIST;
            if (node == other) return Errno.Ok; // two links of one file: POSIX says do nothing
            if (node is MemDirectory)
            {
                if (other is not MemDirectory otherDir) return Errno.ENOTDIR;
                if (otherDir.Count != 0) return Errno.ENOTEMPTY;
            }
            else if (other is MemDirectory) return Errno.EISDIR;
        }
        if (node is MemDirectory moved && dir != newDir && IsSelfOrAncestor(moved, newDir)) return Errno.EINVAL;

        if (newEntry is not null && other is not null)
        {
            newEntry.Node = node; // the replaced name keeps its readdir offset
            Unlinked(newDir, other, now);
        }
        else newDir.Add(newKey, node);
        dir.Remove(entry);
        if (dir != newDir) Reparent(node, dir, newDir);
        node.Ctime = now;
        dir.Modified(now);
        newDir.Modified(now);
        if (other is not null) MaybeFree(other);
        return Errno.Ok;
    }

    /// <summary>A node moved from <paramref name="from"/> to <paramref name="to"/>: a directory's ".." and the parents' link counts follow.</summary>
    private static void Reparent(MemNode node, MemDirectory from, MemDirectory to)
    {
        if (node is not MemDirectory d) return;
        d.Parent = to;
        from.NLink--;
        to.NLink++;
    }

    /// <summary>True if <paramref name="candidate"/> is <paramref name="dir"/> or one of its ancestors.</summary>
    private static bool IsSelfOrAncestor(MemDirectory candidate, MemDirectory dir)
    {
        for (MemDirectory? d = dir; d is not null; d = d.Parent)
            if (d == candidate) return true;
        return false;
    }
}
