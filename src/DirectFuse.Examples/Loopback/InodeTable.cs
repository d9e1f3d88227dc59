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
/// <remarks>
/// A node id is a slot of <see cref="_slots"/> (low 32 bits) and how often that slot was taken before (high 32
/// bits), so <see cref="Get"/>, which every request on a node makes, is an array read without the lock, and an
/// id is not handed out again after the kernel forgot it (until one slot is reused 2^32 times). Slots of
/// forgotten inodes are reused, so the table holds as many as the kernel does at most.
/// </remarks>
internal sealed class InodeTable
{
    private const int RootSlot = 1; // id 1 is FUSE_ROOT_ID; slot 0 stays empty (id 0 is no node)

    private readonly Lock _lock = new();
    private Inode?[] _slots = new Inode?[64];
    private uint[] _reuses = new uint[64];
    private int[] _free = new int[16];
    private int _freeCount;
    private int _nextSlot = RootSlot + 1;
    private int _count;
    private readonly InodeKeyIndex _byKey = new();
    private int _descriptors = 1; // the root's

    public InodeTable(Inode root, int descriptorBudget, FileHandles? handles)
    {
        if (root.Id != RootSlot) throw new ArgumentException("the root's node id is 1", nameof(root));
        Root = root;
        DescriptorBudget = descriptorBudget;
        Handles = handles;
        root.LookupCount = 1; // The kernel never forgets the root; this keeps it in the table for good.
        _slots[RootSlot] = root;
        _count = 1;
        _byKey.Set(root.Dev, root.Ino, root);
    }

    public Inode Root { get; }
    /// <summary>How many inodes keep their own descriptor at most (when handles can stand in for the rest).</summary>
    public int DescriptorBudget { get; }
    /// <summary>The source's file handles, or null where they cannot be used (then every inode keeps a descriptor).</summary>
    public FileHandles? Handles { get; }

    public int Count => Volatile.Read(ref _count);

    /// <summary>Inodes that keep their own descriptor now.</summary>
    public int Descriptors => Volatile.Read(ref _descriptors);

    /// <summary>True when a new inode would be kept by its handle: the caller should fetch one for <see cref="AddLookup"/>.</summary>
    public bool WantsHandles => Handles is not null && Volatile.Read(ref _descriptors) >= DescriptorBudget;

    /// <summary>
    /// The inode of node <paramref name="id"/>, or null. Lock-free: the kernel sends a request on a node only
    /// after our LOOKUP reply reached it (so after <see cref="AddLookup"/> published the slot) and before its
    /// FORGET, so the slot cannot change under a legitimate request.
    /// </summary>
    public Inode? Get(ulong id)
    {
        var slots = Volatile.Read(ref _slots);
        uint slot = (uint)id;
        if (slot >= (uint)slots.Length) return null;
        var inode = Volatile.Read(ref slots[slot]);
        return inode is not null && inode.Id == id ? inode : null;
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
            var known = _byKey.Find(dev, ino);
            if (known is not null && !known.IsStale(fd, ref handle))
            {
                known.LookupCount++;
                inode = known;
            }
            else
            {
                // A stale entry keeps its node id until the kernel forgets it; the live inode gets a new one.
                int slot = TakeSlot();
                ulong id = (ulong)_reuses[slot] << 32 | (uint)slot;
                if (handle is not null && Handles is not null && _descriptors >= DescriptorBudget)
                    inode = new Inode(id, dev, ino, handle, Handles, type) { LookupCount = 1 };
                else
                {
                    inode = new Inode(id, dev, ino, fd, type) { LookupCount = 1 };
                    _descriptors++;
                    keepFd = true;
                }
                Volatile.Write(ref _slots[slot], inode);
                _count++;
                _byKey.Set(dev, ino, inode);
            }
        }
        if (!keepFd) NativeMethods.close(fd);
        return inode;
    }

    /// <summary>Drops <paramref name="count"/> lookup references; the inode's descriptor closes at zero.</summary>
    public void Forget(ulong id, ulong count)
    {
        if (id == RootSlot) return;
        Inode? gone = null;
        lock (_lock)
        {
            var inode = Get(id);
            if (inode is null) return;
            inode.LookupCount = count >= inode.LookupCount ? 0 : inode.LookupCount - count;
            if (inode.LookupCount == 0)
            {
                int slot = (int)(uint)id;
                _slots[slot] = null;
                _reuses[slot]++;
                if (_freeCount == _free.Length) Array.Resize(ref _free, _free.Length * 2);
                _free[_freeCount++] = slot;
                _count--;
                // A stale inode no longer owns its key when a live one with the same number replaced it.
                _byKey.Remove(inode.Dev, inode.Ino, inode);
                if (inode.HoldsDescriptor) _descriptors--;
                gone = inode;
            }
        }
        gone?.CloseDescriptor();
    }

    /// <summary>A free slot (under the lock): a forgotten inode's, else a new one, growing the arrays.</summary>
    private int TakeSlot()
    {
        if (_freeCount > 0) return _free[--_freeCount];
        if (_nextSlot == _slots.Length)
        {
            if (_nextSlot == int.MaxValue) throw new FuseException(Errno.ENFILE);
            int capacity = (int)Math.Min((long)_slots.Length * 2, int.MaxValue);
            var slots = new Inode?[capacity];
            Array.Copy(_slots, slots, _slots.Length);
            Array.Resize(ref _reuses, capacity);
            // Readers holding the old array still find every inode it had; new ones are only in the new one.
            Volatile.Write(ref _slots, slots);
        }
        return _nextSlot++;
    }

    /// <summary>Closes every descriptor (session end).</summary>
    public void Clear()
    {
        List<Inode> all = [];
        lock (_lock)
        {
            foreach (var inode in _slots)
                if (inode is not null) all.Add(inode);
            Volatile.Write(ref _slots, new Inode?[_slots.Length]);
            _byKey.Clear();
            _freeCount = 0;
            _nextSlot = RootSlot + 1;
            _count = 0;
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
