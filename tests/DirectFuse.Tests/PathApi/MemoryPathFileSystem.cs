using System.Collections.Concurrent;
using DirectFuse.LowLevel;
using DirectFuse.PathApi;
using DirectFuse.Protocol;

namespace DirectFuse.Tests.PathApi;

/// <summary>
/// A path file system as a user would write one: a dictionary from path to node under one lock. It records
/// the calls the tests check (chmod, truncate, ...), and can be told to fail.
/// </summary>
internal sealed class MemoryPathFileSystem : PathFileSystem
{
    internal sealed class Node
    {
        public FileAttr Attr;
        public byte[] Data = [];
        public string? Target;
        public readonly Dictionary<string, byte[]> Xattrs = new(StringComparer.Ordinal);
    }

    private readonly Lock _lock = new();
    private readonly Dictionary<string, Node> _nodes = new(StringComparer.Ordinal);
    private ulong _lastIno = 1;
    private long _lastHandle;

    public MemoryPathFileSystem()
    {
        _nodes["/"] = NewNode(StatMode.Directory | 0x1ED, 2);
    }

    /// <summary>Calls worth checking, as "chmod /f 600", "truncate /f 3 fh".</summary>
    public ConcurrentQueue<string> Calls { get; } = new();

    /// <summary>Paths whose open throws this errno (as a handler deep inside would).</summary>
    public ConcurrentDictionary<string, Errno> FailOpen { get; } = new();

    /// <summary>List directories with offsets of our own instead of whole listings.</summary>
    public bool OwnOffsets { get; init; }

    /// <summary>Enforce owners and modes with the <see cref="PathContext"/> checks, as a multi-user file system must.</summary>
    public bool CheckPermissions { get; init; }

    /// <summary>The locks it declares; its lock calls only record themselves ("setlock /f 1", "flock /f 1") and grant everything.</summary>
    public LockKinds Locks { get; init; }

    public override LockKinds ServedLocks => Locks;

    public bool Exists(string path)
    {
        lock (_lock) return _nodes.ContainsKey(path);
    }

    public string[] Paths
    {
        get { lock (_lock) return [.. _nodes.Keys.Order(StringComparer.Ordinal)]; }
    }

    public byte[]? Content(string path)
    {
        lock (_lock) return _nodes.TryGetValue(path, out var n) ? n.Data.ToArray() : null;
    }

    /// <summary>Adds a file directly (not through the mount).</summary>
    public void AddFile(string path, byte[] data, uint perm = 0x1A4, uint uid = 0, uint gid = 0, long mtime = 1_000_000_000)
    {
        lock (_lock)
        {
            var node = NewNode(StatMode.Regular | perm, 1);
            node.Data = data;
            node.Attr.Size = data.Length;
            node.Attr.Uid = uid;
            node.Attr.Gid = gid;
            node.Attr.Mtime = new TimeSpec(mtime, 0);
            _nodes[path] = node;
        }
    }

    public void AddDirectory(string path)
    {
        lock (_lock) _nodes[path] = NewNode(StatMode.Directory | 0x1ED, 2);
    }

    private Node NewNode(uint mode, uint nlink)
    {
        var now = TimeSpec.Now;
        return new Node { Attr = new FileAttr { Ino = ++_lastIno, Mode = mode, NLink = nlink, Atime = now, Mtime = now, Ctime = now, BlkSize = 4096 } };
    }

    private static string ParentOf(string path) => path.LastIndexOf('/') is 0 ? "/" : path[..path.LastIndexOf('/')];
    private static string NameOf(string path) => path[(path.LastIndexOf('/') + 1)..];

    private IEnumerable<string> ChildrenOf(string dir)
    {
        string prefix = dir == "/" ? "/" : dir + "/";
        return _nodes.Keys.Where(k => k != "/" && k.StartsWith(prefix, StringComparison.Ordinal) && k.IndexOf('/', prefix.Length) < 0);
    }

    /// <summary>Creates a node; its parent must be a directory.</summary>
    private Errno Add(string path, Node node)
    {
        if (_nodes.ContainsKey(path)) return Errno.EEXIST;
        if (!_nodes.TryGetValue(ParentOf(path), out var parent)) return Errno.ENOENT;
        if (!StatMode.IsDirectory(parent.Attr.Mode)) return Errno.ENOTDIR;
        _nodes[path] = node;
        return Errno.Ok;
    }

    private static ValueTask<Errno> Done(Errno e) => new(e);
    private static ValueTask<Result<T>> Done<T>(Result<T> r) => new(r);

    public override ValueTask<Result<FileAttr>> GetAttrAsync(string path, FileHandle? handle, PathContext context)
    {
        lock (_lock) return Done<FileAttr>(_nodes.TryGetValue(path, out var n) ? n.Attr : Errno.ENOENT);
    }

    public override ValueTask<Result<string>> ReadLinkAsync(string path, PathContext context)
    {
        lock (_lock) return Done<string>(_nodes.TryGetValue(path, out var n) ? n.Target is { } t ? t : Errno.EINVAL : Errno.ENOENT);
    }

    public override ValueTask<Errno> MkNodAsync(string path, uint mode, uint rdev, PathContext context)
    {
        lock (_lock)
        {
            Calls.Enqueue($"mknod {path}");
            return Done(Add(path, NewNode(mode, 1)));
        }
    }

    public override ValueTask<Errno> MkDirAsync(string path, uint mode, PathContext context)
    {
        lock (_lock)
        {
            Calls.Enqueue($"mkdir {path} {Convert.ToString(mode, 8)}");
            return Done(Add(path, NewNode(StatMode.Directory | mode, 2)));
        }
    }

    public override ValueTask<Errno> SymLinkAsync(string target, string path, PathContext context)
    {
        lock (_lock)
        {
            var node = NewNode(StatMode.Symlink | 0x1FF, 1);
            node.Target = target;
            node.Attr.Size = target.Length;
            return Done(Add(path, node));
        }
    }

    public override ValueTask<Errno> UnlinkAsync(string path, PathContext context)
    {
        lock (_lock)
        {
            Calls.Enqueue($"unlink {path}");
            if (!_nodes.TryGetValue(path, out var n)) return Done(Errno.ENOENT);
            if (CheckPermissions && context.CheckRemove(_nodes[ParentOf(path)].Attr, n.Attr) is { IsOk: false } refused) return Done(refused);
            if (StatMode.IsDirectory(n.Attr.Mode)) return Done(Errno.EISDIR);
            _nodes.Remove(path);
            return Done(Errno.Ok);
        }
    }

    public override ValueTask<Errno> RmDirAsync(string path, PathContext context)
    {
        lock (_lock)
        {
            if (!_nodes.TryGetValue(path, out var n)) return Done(Errno.ENOENT);
            if (!StatMode.IsDirectory(n.Attr.Mode)) return Done(Errno.ENOTDIR);
            if (ChildrenOf(path).Any()) return Done(Errno.ENOTEMPTY);
            _nodes.Remove(path);
            return Done(Errno.Ok);
        }
    }

    public override ValueTask<Errno> RenameAsync(string from, string to, RenameFlags flags, PathContext context)
    {
        lock (_lock)
        {
            Calls.Enqueue($"rename {from} {to} {flags}");
            if (!_nodes.TryGetValue(from, out var source)) return Done(Errno.ENOENT);
            if (!_nodes.TryGetValue(ParentOf(to), out var toDir) || !StatMode.IsDirectory(toDir.Attr.Mode)) return Done(Errno.ENOENT);
            if (to.StartsWith(from + "/", StringComparison.Ordinal)) return Done(Errno.EINVAL);
            bool targetExists = _nodes.TryGetValue(to, out var target);
            if ((flags & RenameFlags.Exchange) != 0)
            {
                if (!targetExists) return Done(Errno.ENOENT);
                var fromTree = Subtree(from);
                var toTree = Subtree(to);
                foreach (var (p, _) in fromTree) _nodes.Remove(p);
                foreach (var (p, _) in toTree) _nodes.Remove(p);
                foreach (var (p, n) in fromTree) _nodes[to + p[from.Length..]] = n;
                foreach (var (p, n) in toTree) _nodes[from + p[to.Length..]] = n;
                return Done(Errno.Ok);
            }
            if (targetExists)
            {
                if ((flags & RenameFlags.NoReplace) != 0) return Done(Errno.EEXIST);
                bool sourceDir = StatMode.IsDirectory(source.Attr.Mode), targetDir = StatMode.IsDirectory(target!.Attr.Mode);
                if (sourceDir && !targetDir) return Done(Errno.ENOTDIR);
                if (!sourceDir && targetDir) return Done(Errno.EISDIR);
                if (targetDir && ChildrenOf(to).Any()) return Done(Errno.ENOTEMPTY);
                _nodes.Remove(to);
            }
            foreach (var (p, n) in Subtree(from))
            {
                _nodes.Remove(p);
                _nodes[to + p[from.Length..]] = n;
            }
            return Done(Errno.Ok);
        }
    }

    /// <summary>The node at <paramref name="path"/> and everything below it.</summary>
    private List<(string Path, Node Node)> Subtree(string path) =>
        [.. _nodes.Where(kv => kv.Key == path || kv.Key.StartsWith(path + "/", StringComparison.Ordinal)).Select(kv => (kv.Key, kv.Value))];

    public override ValueTask<Errno> ChmodAsync(string path, uint mode, FileHandle? handle, PathContext context)
    {
        lock (_lock)
        {
            Calls.Enqueue($"chmod {path} {Convert.ToString(mode, 8)}{(handle is null ? "" : " fh")}");
            if (!_nodes.TryGetValue(path, out var n)) return Done(Errno.ENOENT);
            if (CheckPermissions)
            {
                var errno = context.CheckChmod(n.Attr, mode);
                if (!errno.IsOk) return Done(errno);
                mode = context.ModeAfterChmod(n.Attr, mode);
            }
            n.Attr.Mode = (n.Attr.Mode & StatMode.TypeMask) | mode;
            n.Attr.Ctime = TimeSpec.Now;
            return Done(Errno.Ok);
        }
    }

    public override ValueTask<Errno> ChownAsync(string path, uint? uid, uint? gid, FileHandle? handle, PathContext context)
    {
        lock (_lock)
        {
            Calls.Enqueue($"chown {path} {uid?.ToString() ?? "-"} {gid?.ToString() ?? "-"}");
            if (!_nodes.TryGetValue(path, out var n)) return Done(Errno.ENOENT);
            if (CheckPermissions && context.CheckChown(n.Attr, uid, gid) is { IsOk: false } refused) return Done(refused);
            if (uid is { } u) n.Attr.Uid = u;
            if (gid is { } g) n.Attr.Gid = g;
            return Done(Errno.Ok);
        }
    }

    public override ValueTask<Errno> TruncateAsync(string path, long size, FileHandle? handle, PathContext context)
    {
        lock (_lock)
        {
            Calls.Enqueue($"truncate {path} {size}{(handle is null ? "" : " fh")}");
            if (!_nodes.TryGetValue(path, out var n)) return Done(Errno.ENOENT);
            if (CheckPermissions && context.CheckTruncate(n.Attr, handle) is { IsOk: false } refused) return Done(refused);
            Array.Resize(ref n.Data, (int)size);
            n.Attr.Size = size;
            n.Attr.Mtime = n.Attr.Ctime = TimeSpec.Now;
            return Done(Errno.Ok);
        }
    }

    public override ValueTask<Errno> UtimensAsync(string path, TimeSpec? atime, TimeSpec? mtime, FileHandle? handle, PathContext context)
    {
        lock (_lock)
        {
            Calls.Enqueue($"utimens {path} {atime?.Seconds.ToString() ?? "-"} {mtime?.Seconds.ToString() ?? "-"}");
            if (!_nodes.TryGetValue(path, out var n)) return Done(Errno.ENOENT);
            if (CheckPermissions && context.CheckUtimens(n.Attr) is { IsOk: false } refused) return Done(refused);
            if (atime is { } a) n.Attr.Atime = a;
            if (mtime is { } m) n.Attr.Mtime = m;
            return Done(Errno.Ok);
        }
    }

    public override ValueTask<Result<OpenReply>> OpenAsync(string path, int flags, PathContext context)
    {
        if (FailOpen.TryGetValue(path, out var errno)) throw new FuseException(errno);
        lock (_lock)
        {
            if (!_nodes.TryGetValue(path, out var n)) return Done<OpenReply>(Errno.ENOENT);
            if (StatMode.IsDirectory(n.Attr.Mode)) return Done<OpenReply>(Errno.EISDIR);
            if (CheckPermissions && context.CheckOpen(n.Attr, flags) is { IsOk: false } refused) return Done<OpenReply>(refused);
            return Done<OpenReply>(new OpenReply(new FileHandle((ulong)Interlocked.Increment(ref _lastHandle))));
        }
    }

    public override ValueTask<Result<OpenReply>> CreateAsync(string path, uint mode, int flags, PathContext context)
    {
        if (FailOpen.TryGetValue(path, out var failure)) throw new FuseException(failure);
        lock (_lock)
        {
            Calls.Enqueue($"create {path} {Convert.ToString(mode, 8)}");
            if (CheckPermissions && _nodes.TryGetValue(ParentOf(path), out var parent) && context.CheckCreate(parent.Attr) is { IsOk: false } refused)
                return Done<OpenReply>(refused);
            var node = NewNode(StatMode.Regular | mode, 1);
            node.Attr.Uid = context.Uid;
            node.Attr.Gid = context.Gid;
            var errno = Add(path, node);
            return Done<OpenReply>(errno.IsOk ? new OpenReply(new FileHandle((ulong)Interlocked.Increment(ref _lastHandle))) : errno);
        }
    }

    public override ValueTask<Result<int>> ReadAsync(string path, FileHandle handle, long offset, Memory<byte> buffer, PathContext context)
    {
        lock (_lock)
        {
            if (!_nodes.TryGetValue(path, out var n)) return Done<int>(Errno.ENOENT);
            if (offset >= n.Data.Length) return Done<int>(0);
            int count = (int)Math.Min(buffer.Length, n.Data.Length - offset);
            n.Data.AsSpan((int)offset, count).CopyTo(buffer.Span);
            return Done<int>(count);
        }
    }

    public override ValueTask<Result<int>> WriteAsync(string path, FileHandle handle, long offset, ReadOnlyMemory<byte> data, PathContext context)
    {
        lock (_lock)
        {
            if (!_nodes.TryGetValue(path, out var n)) return Done<int>(Errno.ENOENT);
            long end = offset + data.Length;
            if (end > n.Data.Length) Array.Resize(ref n.Data, (int)end);
            data.Span.CopyTo(n.Data.AsSpan((int)offset));
            n.Attr.Size = n.Data.Length;
            n.Attr.Mtime = n.Attr.Ctime = TimeSpec.Now;
            return Done<int>(data.Length);
        }
    }

    public override ValueTask<Errno> ReleaseAsync(string path, FileHandle handle, int flags, PathContext context)
    {
        Calls.Enqueue($"release {path}");
        return Done(Errno.Ok);
    }

    public override ValueTask<Errno> FsyncAsync(string path, FileHandle handle, bool dataOnly, PathContext context) => Done(Errno.Ok);

    public override ValueTask<Errno> ReadDirAsync(string path, FileHandle handle, long offset, DirectoryFiller filler, PathContext context)
    {
        List<(string Name, FileAttr Attr)> entries;
        lock (_lock)
        {
            if (!_nodes.TryGetValue(path, out var dir)) return Done(Errno.ENOENT);
            if (!StatMode.IsDirectory(dir.Attr.Mode)) return Done(Errno.ENOTDIR);
            entries = [(".", dir.Attr), ("..", _nodes[ParentOf(path)].Attr)];
            entries.AddRange(ChildrenOf(path).Order(StringComparer.Ordinal).Select(p => (NameOf(p), _nodes[p].Attr)));
        }
        if (!OwnOffsets)
        {
            foreach (var (name, attr) in entries) filler.Add(name, attr);
            return Done(Errno.Ok);
        }
        // Offsets of our own: the index in the sorted listing.
        for (long i = offset; i < entries.Count; i++)
            if (!filler.Add(entries[(int)i].Name, entries[(int)i].Attr, i + 1)) break;
        return Done(Errno.Ok);
    }

    public override ValueTask<Errno> SetXattrAsync(string path, string name, ReadOnlyMemory<byte> value, int flags, PathContext context)
    {
        lock (_lock)
        {
            if (!_nodes.TryGetValue(path, out var n)) return Done(Errno.ENOENT);
            bool exists = n.Xattrs.ContainsKey(name);
            if ((flags & 1) != 0 && exists) return Done(Errno.EEXIST);   // XATTR_CREATE
            if ((flags & 2) != 0 && !exists) return Done(Errno.ENODATA); // XATTR_REPLACE
            n.Xattrs[name] = value.ToArray();
            return Done(Errno.Ok);
        }
    }

    public override ValueTask<Result<byte[]>> GetXattrAsync(string path, string name, PathContext context)
    {
        lock (_lock)
        {
            if (!_nodes.TryGetValue(path, out var n)) return Done<byte[]>(Errno.ENOENT);
            return Done<byte[]>(n.Xattrs.TryGetValue(name, out var v) ? v : Errno.ENODATA);
        }
    }

    public override ValueTask<Result<IReadOnlyList<string>>> ListXattrAsync(string path, PathContext context)
    {
        lock (_lock)
        {
            if (!_nodes.TryGetValue(path, out var n)) return Done<IReadOnlyList<string>>(Errno.ENOENT);
            return Done<IReadOnlyList<string>>(n.Xattrs.Keys.Order(StringComparer.Ordinal).ToArray());
        }
    }

    public override ValueTask<Errno> RemoveXattrAsync(string path, string name, PathContext context)
    {
        lock (_lock)
        {
            if (!_nodes.TryGetValue(path, out var n)) return Done(Errno.ENOENT);
            return Done(n.Xattrs.Remove(name) ? Errno.Ok : Errno.ENODATA);
        }
    }

    public override ValueTask<Result<FileLock>> GetLockAsync(string path, FileHandle handle, ulong owner, FileLock request, PathContext context)
    {
        Calls.Enqueue($"getlock {path} {request.Type}");
        return Done<FileLock>(request with { Type = FileLock.Unlock });
    }

    public override ValueTask<Errno> SetLockAsync(string path, FileHandle handle, ulong owner, FileLock request, bool wait, PathContext context)
    {
        Calls.Enqueue($"setlock {path} {request.Type}");
        return Done(Errno.Ok);
    }

    public override ValueTask<Errno> FlockAsync(string path, FileHandle handle, ulong owner, int type, bool wait, PathContext context)
    {
        Calls.Enqueue($"flock {path} {type}");
        return Done(Errno.Ok);
    }
}
