using DirectFuse.DirectMmap;
using DirectFuse.LowLevel;

namespace DirectFuse.Examples.Shmfs;

/// <summary>How the files of one node are open right now: the kernel lets an inode be either passthrough or cached, not both.</summary>
internal enum ShmOpenMode { Closed, Passthrough, Served }

/// <summary>A directory or a region-backed regular file of shmfs. Guarded by the file system's lock.</summary>
internal sealed class ShmNode
{
    public ShmNode(ulong ino, uint mode, uint uid, uint gid)
    {
        Ino = ino;
        Mode = mode;
        Uid = uid;
        Gid = gid;
        Atime = Mtime = Ctime = TimeSpec.Now;
        NLink = StatMode.IsDirectory(mode) ? 2u : 1u;
    }

    public ulong Ino { get; }
    public uint Mode;
    public uint Uid, Gid;
    public uint NLink;
    public TimeSpec Atime, Mtime, Ctime;
    public ulong Lookups;

    /// <summary>Children of a directory, by name.</summary>
    public SortedDictionary<string, ShmNode>? Children;
    public ShmNode? Parent;

    /// <summary>A regular file's data; null while the file is empty.</summary>
    public MmapRegion? Region;
    public ShmOpenMode OpenMode;
    public int Opens;
    /// <summary>Completed when the last open is released (the kernel sends RELEASE after close(2) returns).</summary>
    public TaskCompletionSource? Closed;

    public bool IsDirectory => StatMode.IsDirectory(Mode);

    /// <summary>Type, mode, owner and group: what permission checks read.</summary>
    public Ownership Ownership => new(Mode, Uid, Gid);
    public long Size => IsDirectory ? 4096 : Region?.Length ?? 0;

    public FileAttr Attr => new()
    {
        Ino = Ino,
        Mode = Mode,
        NLink = NLink,
        Uid = Uid,
        Gid = Gid,
        Size = Size,
        Blocks = (Region?.ResidentBytes ?? 0) / 512,
        Atime = Atime,
        Mtime = Mtime,
        Ctime = Ctime,
        BlkSize = (uint)MmapAddressSpace.PageSize,
    };
}
