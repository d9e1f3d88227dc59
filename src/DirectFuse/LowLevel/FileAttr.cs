using DirectFuse.Protocol;

namespace DirectFuse.LowLevel;

/// <summary>The attributes of an inode, as stat(2) will show them.</summary>
public struct FileAttr
{
    /// <summary>The inode number stat(2) shows (st_ino); independent of the node id, though often equal.</summary>
    public ulong Ino;
    /// <summary>Size in bytes (for a symbolic link, the target's length).</summary>
    public long Size;
    /// <summary>Allocated 512-byte blocks.</summary>
    public long Blocks;
    /// <summary>Last access time (st_atime).</summary>
    public TimeSpec Atime;
    /// <summary>Last modification of the contents (st_mtime).</summary>
    public TimeSpec Mtime;
    /// <summary>Last change of the attributes or contents (st_ctime).</summary>
    public TimeSpec Ctime;
    /// <summary>File type and permission bits (S_IFREG | 0644, ...).</summary>
    public uint Mode;
    /// <summary>Number of hard links (2 plus subdirectories, by convention, for a directory).</summary>
    public uint NLink;
    /// <summary>Owner's user id.</summary>
    public uint Uid;
    /// <summary>Owner's group id.</summary>
    public uint Gid;
    /// <summary>
    /// For a device node: its device number in the kernel's 32-bit encoding, (minor &amp; 0xff) | (major &lt;&lt; 8) |
    /// ((minor &amp; ~0xff) &lt;&lt; 12), as for st_rdev; 0 otherwise.
    /// </summary>
    public uint Rdev;
    /// <summary>Preferred I/O size in bytes (st_blksize); 0 reports the mount's block size.</summary>
    public uint BlkSize;

    internal readonly void WriteTo(ref FuseAttr a)
    {
        a.Ino = Ino;
        a.FileSize = (ulong)Size;
        a.Blocks = (ulong)Blocks;
        a.Atime = (ulong)Atime.Seconds;
        a.AtimeNsec = Atime.Nanoseconds;
        a.Mtime = (ulong)Mtime.Seconds;
        a.MtimeNsec = Mtime.Nanoseconds;
        a.Ctime = (ulong)Ctime.Seconds;
        a.CtimeNsec = Ctime.Nanoseconds;
        a.Mode = Mode;
        a.Nlink = NLink;
        a.Uid = Uid;
        a.Gid = Gid;
        a.Rdev = Rdev;
        a.BlkSize = BlkSize;
        a.Flags = 0;
    }
}

/// <summary>File type bits of <see cref="FileAttr.Mode"/> (S_IF*), as in stat(2).</summary>
public static class StatMode
{
    /// <summary>S_IFMT: the bits of a mode that hold the file type.</summary>
    public const uint TypeMask = 0xF000; // S_IFMT
    /// <summary>The file types: S_IFSOCK, S_IFLNK, S_IFREG, S_IFBLK, S_IFDIR, S_IFCHR and S_IFIFO.</summary>
    public const uint Socket = 0xC000, Symlink = 0xA000, Regular = 0x8000, Block = 0x6000,
        Directory = 0x4000, Character = 0x2000, Fifo = 0x1000;
    /// <summary>S_ISUID, S_ISGID and S_ISVTX: set-user-ID, set-group-ID and sticky bits.</summary>
    public const uint SetUid = 0x800, SetGid = 0x400, Sticky = 0x200;

    /// <summary>True when <paramref name="mode"/> is a directory's.</summary>
    public static bool IsDirectory(uint mode) => (mode & TypeMask) == Directory;
    /// <summary>True when <paramref name="mode"/> is a regular file's.</summary>
    public static bool IsRegular(uint mode) => (mode & TypeMask) == Regular;
    /// <summary>True when <paramref name="mode"/> is a symbolic link's.</summary>
    public static bool IsSymlink(uint mode) => (mode & TypeMask) == Symlink;

    /// <summary>The DT_* value of readdir for a mode.</summary>
    public static uint ToDirentType(uint mode) => (mode & TypeMask) >> 12;
}
