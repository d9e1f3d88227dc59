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
    private TimeSpan _entryTimeout;
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

    /// <summary>Linux's permission check (owner, group with supplementary groups, others; root), see <see cref="Permissions"/>.</summary>
    private static bool Allowed(MemNode node, in FuseContext context, int mask) =>
        Permissions.MayAccess(context, node.Ownership, (AccessMode)mask);

    private static bool IsOwner(MemNode node, in FuseContext context) => Permissions.IsOwnerOrPrivileged(context, node.Ownership);

    /// <summary>Write and search permission on the directory, and the sticky bit's rule (EPERM).</summary>
    private static Errno MayDelete(MemDirectory dir, MemNode victim, in FuseContext context) =>
        Permissions.CheckRemove(context, dir.Ownership, victim.Ownership);

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

    /// <summary>Owner and mode of a new node, as Linux's inode_init_owner gives them (see <see cref="Permissions.ForNewNode"/>).</summary>
    private static (uint Mode, uint Gid) NewOwnership(MemDirectory dir, in FuseContext context, uint mode)
    {
        var ownership = Permissions.ForNewNode(context, dir.Ownership, mode);
        return (ownership.Mode, ownership.Gid);
    }

    /// <summary>OpenAsync empties a file opened with O_TRUNC (and drops its set-user-ID bits as tmpfs does).</summary>
    public override bool TruncatesOnOpen => true;

    /// <summary>
    /// This file system keeps owners and modes and checks them itself, so it clears set-user-ID and set-group-ID
    /// bits itself too (HANDLE_KILLPRIV_V2): without it the kernel would clear them with a chmod in the name of a
    /// writer who may not chmod.
    /// </summary>
    public override void Init(FuseConnection connection)
    {
        connection.Want |= InitFlags.HandleKillprivV2;
        // Other users' path walks must reach us to have each directory's search permission checked for them.
        if (connection.ServerChecksOtherUsers) _entryTimeout = TimeSpan.Zero;
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
