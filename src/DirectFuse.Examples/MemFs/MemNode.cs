using DirectFuse.LowLevel;

namespace DirectFuse.Examples.MemFs;

/// <summary>
/// An inode: attributes, extended attributes, locks and the two reference counts that decide its lifetime
/// (names in directories via <see cref="NLink"/>, kernel lookup references via <see cref="Lookups"/>, and
/// open handles via <see cref="OpenCount"/>). The file system's lock guards every field; <see cref="Lookups"/>
/// is also incremented under the read lock, so it is only ever changed with <see cref="Interlocked"/> there.
/// </summary>
internal abstract class MemNode
{
    protected MemNode(ulong ino, uint mode, uint uid, uint gid, TimeSpec now)
    {
        Ino = ino;
        Mode = mode;
        Uid = uid;
        Gid = gid;
        Atime = Mtime = Ctime = now;
    }

    public ulong Ino { get; }
    /// <summary>File type and permission bits.</summary>
    public uint Mode;
    public uint Uid;
    public uint Gid;
    public uint Rdev;
    /// <summary>Names of this node (directories: 2 + subdirectories, 0 once removed).</summary>
    public uint NLink;
    public TimeSpec Atime;
    public TimeSpec Mtime;
    public TimeSpec Ctime;
    /// <summary>The kernel's lookup references; the node id must stay valid while this is above zero.</summary>
    public long Lookups;
    /// <summary>Open file handles (OPEN/CREATE not yet RELEASEd).</summary>
    public int OpenCount;
    /// <summary>Extended attributes, created on first use (most nodes have none). Keys are Latin-1 decoded names.</summary>
    public Dictionary<string, byte[]>? Xattrs;
    /// <summary>Record locks and flocks, created on first use.</summary>
    public MemLocks? Locks;

    public bool IsDirectory => StatMode.IsDirectory(Mode);

    /// <summary>Type, mode, owner and group: what permission checks read.</summary>
    public Ownership Ownership => new(Mode, Uid, Gid);

    public virtual long Size => 0;

    /// <summary>Allocated 512-byte blocks.</summary>
    public virtual long Blocks => 0;

    public void GetAttr(out FileAttr attr) => attr = new FileAttr
    {
        Ino = Ino,
        Size = Size,
        Blocks = Blocks,
        Atime = Atime,
        Mtime = Mtime,
        Ctime = Ctime,
        Mode = Mode,
        NLink = NLink,
        Uid = Uid,
        Gid = Gid,
        Rdev = Rdev,
        BlkSize = MemFileData.ChunkSize,
    };

    /// <summary>The content changed: mtime and ctime.</summary>
    public void Modified(TimeSpec now) => Mtime = Ctime = now;

    /// <summary>
    /// Takes a new mode after a write, truncation or chown; when that dropped a set-ID bit, the file's
    /// security.capability goes too, as Linux drops file capabilities with the privileges they give.
    /// </summary>
    public void SetModeKillingPrivileges(uint mode)
    {
        if ((Mode & ~mode & (StatMode.SetUid | StatMode.SetGid)) != 0) Xattrs?.Remove("security.capability");
        Mode = mode;
    }
}

/// <summary>A regular file.</summary>
internal sealed class MemFile : MemNode
{
    public MemFile(ulong ino, uint mode, uint uid, uint gid, TimeSpec now) : base(ino, mode, uid, gid, now) { }

    public MemFileData Data { get; } = new();

    public override long Size => Data.Size;
    public override long Blocks => (long)Data.ChunkCount * (MemFileData.ChunkSize / 512);
}

/// <summary>A symbolic link; the target is kept as the bytes the kernel sent.</summary>
internal sealed class MemSymlink : MemNode
{
    public MemSymlink(ulong ino, uint mode, uint uid, uint gid, TimeSpec now, byte[] target) : base(ino, mode, uid, gid, now) => Target = target;

    public byte[] Target { get; }

    public override long Size => Target.Length;
}

/// <summary>A FIFO, socket or device node: only attributes, the kernel serves the I/O.</summary>
internal sealed class MemSpecial : MemNode
{
    public MemSpecial(ulong ino, uint mode, uint uid, uint gid, TimeSpec now, uint rdev) : base(ino, mode, uid, gid, now) => Rdev = rdev;
}
