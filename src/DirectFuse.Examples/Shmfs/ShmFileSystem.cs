using DirectFuse.DirectMmap;
using DirectFuse.LowLevel;

namespace DirectFuse.Examples.Shmfs;

/// <summary>
/// A memory file system in which every regular file is a direct-mmap region. Clients create files with
/// open/write/ftruncate; once a file has a size, clients that open it get the region itself (passthrough):
/// read, write and mmap at memory speed, with the server seeing and editing the same pages through
/// <see cref="RegionOf"/>.
/// </summary>
/// <remarks>
/// <para><b>Sizes.</b> A file is sized while it is being created: from the open that created it (or emptied
/// it with O_TRUNC) until that open is released, writes and ftruncate change its size freely, growing or
/// shrinking its region in place (no copy) within the quota (EDQUOT), which counts each file once at its
/// page-rounded size, and the per-region maximum (EFBIG). A file that has data when it is opened through passthrough is a sealed region, as every region
/// is: ftruncate and a pwrite past the end answer EPERM; to change its size, recreate it (open with O_TRUNC).
/// Served files (below) stay resizable, since the server does their reads and writes itself.</para>
/// <para><b>Permissions</b> are Linux's (<see cref="Permissions"/>), checked here with or without the
/// <c>default_permissions</c> mount option: owners, groups with supplementary groups, sticky directories,
/// set-ID bits dropped on writes, truncation and chown by others. Writes through a passthrough open never
/// reach the server, so a passthrough open for writing by anybody but root drops the set-ID bits at once.</para>
/// <para><b>Served opens.</b> A file that is empty when opened, or already open that way, is served by the
/// server (page cache, READ/WRITE on the region) — the kernel lets an inode be cached or passthrough, not
/// both, so zero copy starts with the opens made after the creating open is released. Without passthrough
/// (no CAP_SYS_ADMIN, old kernel) every open is served. After the server edits a served file it calls
/// <see cref="Edited"/> so clients re-read.</para>
/// </remarks>
public sealed partial class ShmFileSystem : LowLevelFileSystem
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(1);
    private TimeSpan _entryTimeout = Timeout;
    private readonly Lock _lock = new();
    private readonly Dictionary<ulong, ShmNode> _nodes = [];
    private readonly Dictionary<ulong, (ShmNode Node, bool ViaBinder)> _handles = [];
    private ulong _nextIno = 2;
    private ulong _nextHandle = 1UL << 62; // apart from the binder's handles
    private FuseConnection? _connection;
    private long _bytesCopiedByResizes;

    public ShmFileSystem(MmapAddressSpaceOptions? spaceOptions = null, DirectMmapMode? mode = null)
    {
        AddressSpace = new MmapAddressSpace(spaceOptions);
        Binder = new RegionBinder(AddressSpace, mode);
        var root = new ShmNode(1, StatMode.Directory | 0x1FF | StatMode.Sticky, 0, 0) { Children = new(StringComparer.Ordinal), Lookups = 1 };
        root.Parent = root;
        _nodes[1] = root;
    }

    public MmapAddressSpace AddressSpace { get; }
    public RegionBinder Binder { get; }

    /// <summary>Bytes resizes copied from one region into another: growth must not copy the whole file each time.</summary>
    internal long BytesCopiedByResizes => Interlocked.Read(ref _bytesCopiedByResizes);

    /// <summary>O_TRUNC recreates a file as one being sized again (OpenAsync): a SETATTR of size 0 on a sealed region could not.</summary>
    public override bool TruncatesOnOpen => true;

    public override void Init(FuseConnection connection)
    {
        _connection = connection;
        // Set-ID bits are cleared here, on the kernel's word, rather than by a chmod in a writer's name.
        connection.Want |= InitFlags.HandleKillprivV2;
        // Other users' path walks must reach us to have each directory's search permission checked for them.
        if (connection.ServerChecksOtherUsers) _entryTimeout = TimeSpan.Zero;
        Binder.Init(connection);
    }

    public override void Destroy() => AddressSpace.Dispose();

    /// <summary>The region holding the file at <paramref name="path"/> ("/dir/file"), or null if it is empty or missing.</summary>
    public MmapRegion? RegionOf(string path)
    {
        lock (_lock) return Resolve(path)?.Region;
    }

    /// <summary>Every non-empty file with its region, for inspection (the <c>regions</c> command).</summary>
    public IReadOnlyList<(string Path, MmapRegion Region)> Files()
    {
        var result = new List<(string, MmapRegion)>();
        lock (_lock) Collect(_nodes[1], "", result);
        return result;
    }

    /// <summary>After the server changed a file's bytes: clients with served opens drop their cached copy of that range.</summary>
    public void Edited(string path, long offset, long length)
    {
        ShmNode? node;
        lock (_lock) node = Resolve(path);
        if (node is not null && node.OpenMode == ShmOpenMode.Served) _connection?.Notifier.InvalidateInode(new NodeId(node.Ino), offset, length);
    }

    private void Collect(ShmNode dir, string prefix, List<(string, MmapRegion)> result)
    {
        foreach (var (name, child) in dir.Children!)
        {
            string path = prefix + "/" + name;
            if (child.IsDirectory) Collect(child, path, result);
            else if (child.Region is { } r) result.Add((path, r));
        }
    }

    private ShmNode? Resolve(string path)
    {
        var node = _nodes[1];
        foreach (var part in path.Split('/', StringSplitOptions.RemoveEmptyEntries))
            if (node.Children is null || !node.Children.TryGetValue(part, out node)) return null;
        return node;
    }

    private EntryReply Entry(ShmNode node)
    {
        node.Lookups++;
        return new EntryReply(new NodeId(node.Ino), node.Attr, _entryTimeout, Timeout);
    }

    private bool TryNode(NodeId id, out ShmNode node) => _nodes.TryGetValue(id.Value, out node!);

    /// <summary>A node no name, lookup or open refers to any more: its region goes back to the quota.</summary>
    private void FreeIfUnused(ShmNode node)
    {
        if (node.NLink > 0 && node.Parent is not null || node.Lookups > 0 || node.Opens > 0 || node.Ino == 1) return;
        _nodes.Remove(node.Ino);
        if (node.Region is { } r) AddressSpace.Destroy(r);
        node.Region = null;
    }

    /// <summary>
    /// Gives the file <paramref name="length"/> bytes (no region for 0). Caller holds the lock, so no span of
    /// the region is in use meanwhile.
    /// </summary>
    /// <remarks>
    /// Regions are created resizable and grow or shrink in place (<see cref="MmapAddressSpace.TryResize"/>):
    /// no copy, and the quota counts the file's page-rounded length once, so one file can fill the quota and
    /// appending costs O(1) per byte. Only a file whose region was sealed by a passthrough open (and closed
    /// since) is copied into a new region, once; the copy then grows in place again.
    /// </remarks>
    private Errno Resize(ShmNode node, long length)
    {
        if (node.OpenMode == ShmOpenMode.Passthrough) return Errno.EPERM; // sealed while clients map it directly
        var old = node.Region;
        if ((old?.Length ?? 0) == length) return Errno.Ok;
        try
        {
            if (length == 0) node.Region = null;
            else if (old is null || !AddressSpace.TryResize(old, length)) node.Region = CopyIntoNewRegion(node, old, length);
        }
        catch (FuseException e)
        {
            return e.Errno; // EDQUOT or EFBIG: the quota holds, and the file keeps its old size
        }
        if (old is not null && node.Region != old) AddressSpace.Destroy(old);
        node.Mtime = node.Ctime = TimeSpec.Now;
        return Errno.Ok;
    }

    /// <summary>A resizable region of <paramref name="length"/> bytes holding the start of <paramref name="old"/> (if any).</summary>
    private MmapRegion CopyIntoNewRegion(ShmNode node, MmapRegion? old, long length)
    {
        long page = MmapAddressSpace.PageSize;
        var fresh = AddressSpace.CreateRegion((length + page - 1) / page * page, shareKey: "ino:" + node.Ino, length: length, resizable: true);
        if (old is null) return fresh;
        long keep = Math.Min(old.Length, length);
        for (long at = 0; at < keep; at += int.MaxValue)
        {
            int n = (int)Math.Min(int.MaxValue, keep - at);
            old.GetSpan(at, n).CopyTo(fresh.GetSpan(at, n));
        }
        Interlocked.Add(ref _bytesCopiedByResizes, keep);
        return fresh;
    }
}
