using DirectFuse.Protocol;

namespace DirectFuse.LowLevel;

/// <summary>The attributes of an inode, as stat(2) will show them.</summary>
public struct FileAttr
{
    public ulong Ino;
    public long Size;
    /// <summary>Allocated 512-byte blocks.</summary>
    public long Blocks;
    public TimeSpec Atime;
    public TimeSpec Mtime;
    public TimeSpec Ctime;
    /// <summary>File type and permission bits (S_IFREG | 0644, ...).</summary>
    public uint Mode;
    public uint NLink;
    public uint Uid;
    public uint Gid;
    public uint Rdev;
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
    public const uint TypeMask = 0xF000; // S_IFMT
    public const uint Socket = 0xC000, Symlink = 0xA000, Regular = 0x8000, Block = 0x6000,
        Directory = 0x4000, Character = 0x2000, Fifo = 0x1000;
    public const uint SetUid = 0x800, SetGid = 0x400, Sticky = 0x200;

    public static bool IsDirectory(uint mode) => (mode & TypeMask) == Directory;
    public static bool IsRegular(uint mode) => (mode & TypeMask) == Regular;
    public static bool IsSymlink(uint mode) => (mode & TypeMask) == Symlink;

    /// <summary>The DT_* value of readdir for a mode.</summary>
    public static uint ToDirentType(uint mode) => (mode & TypeMask) >> 12;
}
