using DirectFuse.Session;

namespace DirectFuse.Examples.Loopback;

/// <summary>
/// One source inode the kernel knows: an O_PATH descriptor that every operation on it is relative to (or, past
/// the descriptor budget, a file handle to reopen one from), and the kernel's lookup count. Keyed by (device,
/// inode number) so that hard links and repeated lookups of one file share one node id, and with it one FUSE
/// inode and one backing file.
/// </summary>
internal sealed class Inode
{
    private readonly int _fd;
    private readonly byte[]? _handle;
    private readonly FileHandles? _handles;

    public Inode(ulong id, ulong dev, ulong ino, int fd, uint type)
    {
        Id = id;
        Dev = dev;
        Ino = ino;
        _fd = fd;
        Type = type;
    }

    /// <summary>An inode kept by its file handle alone: each operation reopens it.</summary>
    public Inode(ulong id, ulong dev, ulong ino, byte[] handle, FileHandles handles, uint type) : this(id, dev, ino, -1, type)
    {
        _handle = handle;
        _handles = handles;
    }

    public ulong Id { get; }
    public ulong Dev { get; }
    public ulong Ino { get; }
    /// <summary>Whether the inode keeps its own O_PATH descriptor (closed when the lookup count drops to zero).</summary>
    public bool HoldsDescriptor => _fd >= 0;

    /// <summary>
    /// An O_PATH descriptor for one operation. Throws ESTALE (or the reopen's errno) when an inode kept by its
    /// handle is gone from the source: the kernel then looks the name up again.
    /// </summary>
    public PathDescriptor Path()
    {
        if (_fd >= 0) return new PathDescriptor(_fd, owned: false);
        int fd = _handles!.Open(_handle!);
        if (fd < 0) throw new FuseException(Errno.Last);
        return new PathDescriptor(fd, owned: true);
    }

    /// <summary>
    /// Whether this inode, found under the (dev, ino) of the live file <paramref name="fd"/>, is a different, deleted
    /// file whose inode number the source has reused. Only an inode kept by its handle can be: a kept descriptor
    /// pins the inode, so its number cannot be reused while the kernel knows it. The handle carries the
    /// generation, so differing handles mean differing files. Fetches the live file's handle into
    /// <paramref name="handle"/> if the caller had none.
    /// </summary>
    public bool IsStale(int fd, ref byte[]? handle)
    {
        if (_handle is null) return false;
        handle ??= _handles!.HandleOf(fd);
        return handle is null || !handle.AsSpan().SequenceEqual(_handle);
    }

    /// <summary>Closes the inode's own descriptor, if it keeps one (the kernel forgot it).</summary>
    public void CloseDescriptor()
    {
        if (_fd >= 0) NativeMethods.close(_fd);
    }

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

/// <summary>
/// Node ids to inodes and (dev, ino) to inodes, with lookup counting. Inodes keep an O_PATH descriptor each
/// while fewer than <see cref="DescriptorBudget"/> do; past that, where the source supports file handles, new
/// inodes keep only their handle, so the number of inodes the kernel may hold is not bounded by RLIMIT_NOFILE.
/// </summary>
internal sealed class InodeTable
{
    private readonly Lock _lock = new();
    private readonly Dictionary<ulong, Inode> _byId = [];
    private readonly Dictionary<(ulong Dev, ulong Ino), Inode> _byKey = [];
    private ulong _nextId = 2; // 1 is the root; ids are never reused, so the generation can stay 0.
    private int _descriptors = 1; // the root's

    public InodeTable(Inode root, int descriptorBudget, FileHandles? handles)
    {
        Root = root;
        DescriptorBudget = descriptorBudget;
        Handles = handles;
        root.LookupCount = 1; // The kernel never forgets the root; this keeps it in the table for good.
        _byId.Add(root.Id, root);
        _byKey.Add((root.Dev, root.Ino), root);
    }

    public Inode Root { get; }
    /// <summary>How many inodes keep their own descriptor at most (when handles can stand in for the rest).</summary>
    public int DescriptorBudget { get; }
    /// <summary>The source's file handles, or null where they cannot be used (then every inode keeps a descriptor).</summary>
    public FileHandles? Handles { get; }

    public int Count
    {
        get { lock (_lock) return _byId.Count; }
    }

    /// <summary>Inodes that keep their own descriptor now.</summary>
    public int Descriptors => Volatile.Read(ref _descriptors);

    /// <summary>True when a new inode would be kept by its handle: the caller should fetch one for <see cref="AddLookup"/>.</summary>
    public bool WantsHandles => Handles is not null && Volatile.Read(ref _descriptors) >= DescriptorBudget;

    public Inode? Get(ulong id)
    {
        if (id == 1) return Root;
        lock (_lock) return _byId.GetValueOrDefault(id);
    }

    /// <summary>
    /// Adds one lookup reference to the inode (dev, ino), taking ownership of <paramref name="fd"/>: a new entry
    /// keeps it, unless the descriptor budget is spent and <paramref name="handle"/> can stand in for it; a known
    /// inode or a handle makes the descriptor surplus, and it is closed.
    /// </summary>
    public Inode AddLookup(ulong dev, ulong ino, int fd, uint type, byte[]? handle)
    {
        Inode inode;
        bool keepFd = false;
        lock (_lock)
        {
            if (_byKey.TryGetValue((dev, ino), out var known) && !known.IsStale(fd, ref handle))
            {
                known.LookupCount++;
                inode = known;
            }
            else
            {
                // A stale entry keeps its node id until the kernel forgets it; the live inode gets a new one.
                if (handle is not null && Handles is not null && _descriptors >= DescriptorBudget)
                    inode = new Inode(_nextId++, dev, ino, handle, Handles, type) { LookupCount = 1 };
                else
                {
                    inode = new Inode(_nextId++, dev, ino, fd, type) { LookupCount = 1 };
                    _descriptors++;
                    keepFd = true;
                }
                _byId.Add(inode.Id, inode);
                _byKey[(dev, ino)] = inode;
            }
        }
        if (!keepFd) NativeMethods.close(fd);
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
                // A stale inode no longer owns its key when a live one with the same number replaced it.
                if (_byKey.TryGetValue((inode.Dev, inode.Ino), out var keyed) && keyed == inode) _byKey.Remove((inode.Dev, inode.Ino));
                if (inode.HoldsDescriptor) _descriptors--;
                gone = inode;
            }
        }
        gone?.CloseDescriptor();
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
            _descriptors = 0;
        }
        foreach (var inode in all)
        {
            lock (inode)
            {
                inode.Backing.Close();
            }
            inode.CloseDescriptor();
        }
    }
}
