using DirectFuse.Session;

namespace DirectFuse.Examples.Loopback;

/// <summary>
/// One source inode the kernel knows: an O_PATH descriptor that every operation on it is relative to, and the
/// kernel's lookup count. Keyed by (device, inode number) so that hard links and repeated lookups of one file
/// share one node id, and with it one FUSE inode and one backing file.
/// </summary>
internal sealed class Inode
{
    public Inode(ulong id, ulong dev, ulong ino, int fd, uint type)
    {
        Id = id;
        Dev = dev;
        Ino = ino;
        Fd = fd;
        Type = type;
    }

    public ulong Id { get; }
    public ulong Dev { get; }
    public ulong Ino { get; }
    /// <summary>The O_PATH|O_NOFOLLOW descriptor; closed when the lookup count drops to zero.</summary>
    public int Fd { get; }
    /// <summary>The S_IFMT bits, which never change for an inode.</summary>
    public uint Type { get; }
    public bool IsSymlink => Type == DirectFuse.LowLevel.StatMode.Symlink;

    /// <summary>Guarded by the table's lock.</summary>
    internal ulong LookupCount;

    // Open-file state, guarded by lock(this). The kernel refuses a second backing id for an inode that is
    // open, and refuses passthrough opens while page-cache opens exist (and the other way round), so the
    // inode keeps one shared backing file and counts both kinds of opens.
    internal readonly SharedBackingFile Backing = new();
    internal bool BackingWritable;
    internal int CachedOpens;

    // Directory listing state, guarded by lock(this): the source directory's change stamp seen at the last
    // OPENDIR, against which the kernel's cached listing is judged (see LoopbackFileSystem.ListingCache.cs).
    internal ListingStamp LastListingStamp;
    internal int ListingChangesInARow;
}

/// <summary>Node ids to inodes and (dev, ino) to inodes, with lookup counting.</summary>
internal sealed class InodeTable
{
    private readonly Lock _lock = new();
    private readonly Dictionary<ulong, Inode> _byId = [];
    private readonly Dictionary<(ulong Dev, ulong Ino), Inode> _byKey = [];
    private ulong _nextId = 2; // 1 is the root; ids are never reused, so the generation can stay 0.

    public InodeTable(Inode root)
    {
        Root = root;
        root.LookupCount = 1; // The kernel never forgets the root; this keeps it in the table for good.
        _byId.Add(root.Id, root);
        _byKey.Add((root.Dev, root.Ino), root);
    }

    public Inode Root { get; }

    public int Count
    {
        get { lock (_lock) return _byId.Count; }
    }

    public Inode? Get(ulong id)
    {
        if (id == 1) return Root;
        lock (_lock) return _byId.GetValueOrDefault(id);
    }

    /// <summary>
    /// Adds one lookup reference to the inode (dev, ino), taking ownership of <paramref name="fd"/> for a new
    /// entry; when the inode is already known the surplus descriptor is closed.
    /// </summary>
    public Inode AddLookup(ulong dev, ulong ino, int fd, uint type)
    {
        Inode inode;
        lock (_lock)
        {
            if (_byKey.TryGetValue((dev, ino), out var known))
            {
                known.LookupCount++;
                inode = known;
            }
            else
            {
                inode = new Inode(_nextId++, dev, ino, fd, type) { LookupCount = 1 };
                _byId.Add(inode.Id, inode);
                _byKey.Add((dev, ino), inode);
                return inode;
            }
        }
        NativeMethods.close(fd);
        return inode;
    }

    /// <summary>Drops <paramref name="count"/> lookup references; the inode's descriptor closes at zero.</summary>
    public void Forget(ulong id, ulong count)
    {
        if (id == 1) return;
        Inode? gone = null;
        lock (_lock)
        {
            if (!_byId.TryGetValue(id, out var inode)) return;
            inode.LookupCount = count >= inode.LookupCount ? 0 : inode.LookupCount - count;
            if (inode.LookupCount == 0)
            {
                _byId.Remove(id);
                _byKey.Remove((inode.Dev, inode.Ino));
                gone = inode;
            }
        }
        if (gone is not null) NativeMethods.close(gone.Fd);
    }

    /// <summary>Closes every descriptor (session end).</summary>
    public void Clear()
    {
        List<Inode> all;
        lock (_lock)
        {
            all = [.. _byId.Values];
            _byId.Clear();
            _byKey.Clear();
        }
        foreach (var inode in all)
        {
            lock (inode)
            {
                inode.Backing.Close();
            }
            NativeMethods.close(inode.Fd);
        }
    }
}
