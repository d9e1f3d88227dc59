using System.Text;
using DirectFuse.LowLevel;

namespace DirectFuse.Examples.MemFs;

// Extended attributes in the user, trusted and security namespaces (system.* would be ACLs: not supported).
public sealed partial class MemFileSystem
{
    private const int XattrCreate = 1, XattrReplace = 2;

    /// <summary>The namespace rules: which names exist here, and who may read or write them.</summary>
    private static Errno CheckXattr(MemNode node, in FuseContext context, ReadOnlySpan<char> key, bool write)
    {
        if (key.StartsWith("user."))
        {
            // Linux allows user attributes only on regular files and directories.
            if (node is not (MemFile or MemDirectory)) return write ? Errno.EPERM : Errno.ENODATA;
            return Allowed(node, context, write ? W : R) ? Errno.Ok : Errno.EACCES;
        }
        if (key.StartsWith("trusted.")) return context.Uid == 0 ? Errno.Ok : Errno.EPERM;
        if (key.StartsWith("security.")) return !write || IsOwner(node, context) ? Errno.Ok : Errno.EPERM;
        return Errno.EOPNOTSUPP;
    }

    public override ValueTask<Errno> SetXattrAsync(FuseContext context, NodeId node, FileName name, ReadOnlyMemory<byte> value, int flags, CancellationToken cancellationToken)
    {
        if (name.Length > Names.NameMax) return Done(Errno.ERANGE);
        if ((flags & ~(XattrCreate | XattrReplace)) != 0) return Done(Errno.EINVAL);
        Span<char> buffer = stackalloc char[Names.NameMax];
        var key = Names.Decode(name, buffer);
        _lock.EnterWriteLock();
        try
        {
            var n = Find(node);
            if (n is null) return Done(Errno.ENOENT);
            var errno = CheckXattr(n, context, key, write: true);
            if (!errno.IsOk) return Done(errno);
            var lookup = (n.Xattrs ??= new Dictionary<string, byte[]>(StringComparer.Ordinal)).GetAlternateLookup<ReadOnlySpan<char>>();
            bool exists = lookup.ContainsKey(key);
            if (exists && (flags & XattrCreate) != 0) return Done(Errno.EEXIST);
            if (!exists && (flags & XattrReplace) != 0) return Done(Errno.ENODATA);
            lookup[key] = value.ToArray();
            n.Ctime = TimeSpec.Now;
            return Done(Errno.Ok);
        }
        finally
        {
            _lock.ExitWriteLock();
        }
    }

    public override ValueTask<Result<int>> GetXattrAsync(FuseContext context, NodeId node, FileName name, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        if (name.Length > Names.NameMax) return Done<int>(Errno.ERANGE);
        Span<char> chars = stackalloc char[Names.NameMax];
        var key = Names.Decode(name, chars);
        _lock.EnterReadLock();
        try
        {
            var n = Find(node);
            if (n is null) return Done<int>(Errno.ENOENT);
            var errno = CheckXattr(n, context, key, write: false);
            if (!errno.IsOk) return Done<int>(errno);
            // The kernel asks for security.capability before the first write of every file: make "none" cheap.
            if (n.Xattrs is null || !n.Xattrs.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(key, out var value))
                return Done<int>(Errno.ENODATA);
            if (buffer.IsEmpty) return Done<int>(value.Length);
            if (buffer.Length < value.Length) return Done<int>(Errno.ERANGE);
            value.CopyTo(buffer.Span);
            return Done<int>(value.Length);
        }
        finally
        {
            _lock.ExitReadLock();
        }
    }

    public override ValueTask<Result<int>> ListXattrAsync(FuseContext context, NodeId node, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        _lock.EnterReadLock();
        try
        {
            var n = Find(node);
            if (n is null) return Done<int>(Errno.ENOENT);
            if (n.Xattrs is null) return Done<int>(0);
            int total = 0;
            foreach (var key in n.Xattrs.Keys)
                if (Listed(key, context)) total += key.Length + 1;
            if (buffer.IsEmpty) return Done<int>(total);
            if (buffer.Length < total) return Done<int>(Errno.ERANGE);
            var span = buffer.Span;
            int at = 0;
            foreach (var key in n.Xattrs.Keys)
            {
                if (!Listed(key, context)) continue;
                at += Encoding.Latin1.GetBytes(key, span[at..]);
                span[at++] = 0;
            }
            return Done<int>(at);
        }
        finally
        {
            _lock.ExitReadLock();
        }
    }

    /// <summary>trusted.* names are visible to privileged callers only, as on Linux.</summary>
    private static bool Listed(string key, in FuseContext context) => context.Uid == 0 || !key.StartsWith("trusted.", StringComparison.Ordinal);

    public override ValueTask<Errno> RemoveXattrAsync(FuseContext context, NodeId node, FileName name, CancellationToken cancellationToken)
    {
        if (name.Length > Names.NameMax) return Done(Errno.ERANGE);
        Span<char> buffer = stackalloc char[Names.NameMax];
        var key = Names.Decode(name, buffer);
        _lock.EnterWriteLock();
        try
        {
            var n = Find(node);
            if (n is null) return Done(Errno.ENOENT);
            var errno = CheckXattr(n, context, key, write: true);
            if (!errno.IsOk) return Done(errno);
            if (n.Xattrs is null || !n.Xattrs.GetAlternateLookup<ReadOnlySpan<char>>().Remove(key)) return Done(Errno.ENODATA);
            n.Ctime = TimeSpec.Now;
            return Done(Errno.Ok);
        }
        finally
        {
            _lock.ExitWriteLock();
        }
    }
}
