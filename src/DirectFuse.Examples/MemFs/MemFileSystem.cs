using System.Runtime.InteropServices;
using DirectFuse.LowLevel;

namespace DirectFuse.Examples.MemFs;

/// <summary>
/// An in-memory file system with POSIX behaviour: sparse regular files, directories with stable readdir
/// offsets, hard and symbolic links, device nodes, FIFOs and sockets, rename with RENAME_NOREPLACE and
/// RENAME_EXCHANGE, extended attributes, record locks and flock, fallocate, SEEK_DATA/SEEK_HOLE and
/// copy_file_range. Node ids are inode numbers and are never reused.
/// </summary>
/// <remarks>
/// One reader/writer lock guards the whole tree: lookups, attribute reads, reads and listings share it, every
/// change takes it exclusively. Handlers never wait while holding it (a blocking lock request waits outside),
/// so every request but F_SETLKW completes synchronously. A node is freed when it has no name, no kernel
/// lookup reference and no open handle.
/// </remarks>
public sealed partial class MemFileSystem : LowLevelFileSystem
{
    private const int R = 4, W = 2, X = 1;
    /// <summary>Keeps chunk arithmetic far from overflow; the kernel's own limit is larger.</summary>
    private const long MaxFileSize = 1L << 62;

    private readonly ReaderWriterLockSlim _lock = new(LockRecursionPolicy.NoRecursion);
    private readonly Dictionary<ulong, MemNode> _nodes = [];
    private readonly MemDirectory _root;
    private readonly TimeSpan _entryTimeout;
    private readonly TimeSpan _attrTimeout;
    private readonly long _capacityChunks;
    private readonly long _maxNodes;
    private ulong _nextIno = 2;
    private long _nextHandle;
    /// <summary>Allocated data chunks of all files, against <see cref="_capacityChunks"/>.</summary>
    private long _usedChunks;

    public MemFileSystem() : this(new MemFileSystemOptions()) { }

    public MemFileSystem(MemFileSystemOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _entryTimeout = options.EntryTimeout;
        _attrTimeout = options.AttrTimeout;
        long capacity = options.Capacity ?? GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 2;
        _capacityChunks = Math.Max(1, capacity / MemFileData.ChunkSize);
        _maxNodes = Math.Max(16, options.MaxNodes);
        uint uid = options.RootUid ?? geteuid();
        uint gid = options.RootGid ?? getegid();
        _root = new MemDirectory(NodeId.Root.Value, StatMode.Directory | (options.RootMode & 0xFFF), uid, gid, TimeSpec.Now, parent: null);
        _nodes.Add(_root.Ino, _root);
    }

    public TimeSpan EntryTimeout => _entryTimeout;
    public TimeSpan AttrTimeout => _attrTimeout;

    // ---- Shared helpers; callers hold _lock ---------------------------------------------------------------

    private MemNode? Find(NodeId id) => _nodes.TryGetValue(id.Value, out var node) ? node : null;

    /// <summary>A reply that hands the kernel one more lookup reference on <paramref name="node"/>.</summary>
    private EntryReply Entry(MemNode node)
    {
        // Under the read lock (LOOKUP, READDIRPLUS) several threads may count at once.
        Interlocked.Increment(ref node.Lookups);
        node.GetAttr(out var attr);
        return new EntryReply(new NodeId(node.Ino), attr, _entryTimeout, _attrTimeout);
    }

    private AttrReply Attr(MemNode node)
    {
        node.GetAttr(out var attr);
        return new AttrReply(attr, _attrTimeout);
    }

    /// <summary>
    /// Permission check from the mode bits against the caller's uid and primary gid (the request carries no
    /// supplementary groups). Root may do anything except execute a file without any execute bit.
    /// </summary>
    private static bool Allowed(MemNode node, in FuseContext context, int mask)
    {
        if (mask == 0) return true;
        uint mode = node.Mode;
        if (context.Uid == 0) return (mask & X) == 0 || node.IsDirectory || (mode & 0x49) != 0; // 0111
        uint bits = context.Uid == node.Uid ? (mode >> 6) & 7 : context.Gid == node.Gid ? (mode >> 3) & 7 : mode & 7;
        return (bits & (uint)mask) == (uint)mask;
    }

    private static bool IsOwner(MemNode node, in FuseContext context) => context.Uid == 0 || context.Uid == node.Uid;

    /// <summary>The sticky bit: only the owner of the entry or of the directory (or root) may remove or rename it.</summary>
    private static bool MayDelete(MemDirectory dir, MemNode victim, in FuseContext context) =>
        (dir.Mode & StatMode.Sticky) == 0 || context.Uid == 0 || context.Uid == dir.Uid || context.Uid == victim.Uid;

    /// <summary>Looks up a directory the caller may change (search and write permission), or the errno why not.</summary>
    private Errno WritableDirectory(NodeId id, in FuseContext context, out MemDirectory dir)
    {
        dir = null!;
        var node = Find(id);
        if (node is null) return Errno.ENOENT;
        if (node is not MemDirectory d) return Errno.ENOTDIR;
        if (d.NLink == 0) return Errno.ENOENT; // removed while somebody still had it as a working directory
        if (!Allowed(d, context, W | X)) return Errno.EACCES;
        dir = d;
        return Errno.Ok;
    }

    /// <summary>Checks that a new name may be created in <paramref name="parent"/>.</summary>
    private Errno PrepareCreate(NodeId parent, in FuseContext context, ReadOnlySpan<char> key, out MemDirectory dir)
    {
        var errno = WritableDirectory(parent, context, out dir);
        if (!errno.IsOk) return errno;
        if (dir.Get(key) is not null) return Errno.EEXIST;
        if (_nodes.Count >= _maxNodes) return Errno.ENOSPC;
        return Errno.Ok;
    }

    /// <summary>
    /// Owner and mode of a new node: the caller's uid; the directory's group if it is set-group-ID (and new
    /// directories inherit that bit), else the caller's gid. A non-directory made by somebody outside its
    /// group loses set-group-ID, as Linux does.
    /// </summary>
    private static (uint Mode, uint Gid) NewOwnership(MemDirectory dir, in FuseContext context, uint mode)
    {
        uint gid = context.Gid;
        if ((dir.Mode & StatMode.SetGid) != 0)
        {
            gid = dir.Gid;
            if (StatMode.IsDirectory(mode)) mode |= StatMode.SetGid;
            else if ((mode & (StatMode.SetGid | 0x8)) == (StatMode.SetGid | 0x8) && context.Uid != 0 && context.Gid != gid)
                mode &= ~StatMode.SetGid;
        }
        return (mode, gid);
    }

    /// <summary>Registers a new node under a fresh inode number and links it into <paramref name="dir"/>.</summary>
    private void Attach(MemDirectory dir, ReadOnlySpan<char> key, MemNode node, TimeSpec now)
    {
        _nodes.Add(node.Ino, node);
        dir.Add(key, node);
        if (node is MemDirectory) dir.NLink++;
        else node.NLink = 1;
        dir.Modified(now);
    }

    private ulong NextIno() => _nextIno++;

    private FileHandle NewHandle() => new((ulong)Interlocked.Increment(ref _nextHandle));

    /// <summary>Frees the node once nothing refers to it: no name, no lookup reference, no open handle.</summary>
    private void MaybeFree(MemNode node)
    {
        if (node == _root || node.NLink != 0 || node.Lookups > 0 || node.OpenCount > 0) return;
        _nodes.Remove(node.Ino);
        if (node is MemFile file)
        {
            _usedChunks -= file.Data.ChunkCount;
            file.Data.Clear();
        }
        node.Locks?.WakeAll();
        node.Locks = null;
        node.Xattrs = null;
    }

    /// <summary>Keeps the capacity count in step after a change of a file's allocation (<paramref name="before"/>: its chunk count before).</summary>
    private void AccountChunks(MemFile file, int before) => _usedChunks += file.Data.ChunkCount - before;

    /// <summary>Whether <paramref name="chunks"/> more data chunks fit in the capacity.</summary>
    private bool HasRoomFor(long chunks) => chunks <= 0 || _usedChunks + chunks <= _capacityChunks;

    [DllImport("libc")]
    private static extern uint geteuid();

    [DllImport("libc")]
    private static extern uint getegid();
}
