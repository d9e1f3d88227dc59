namespace DirectFuse.Testing;

/// <summary>The type of a file, as the top bits of its mode (S_IFMT) and a directory entry's d_type say.</summary>
public enum FuseFileType
{
    /// <summary>No type the kernel knows: a mode without S_IFMT bits (the kernel refuses such attributes).</summary>
    Unknown = 0,
    /// <summary>A named pipe (S_IFIFO).</summary>
    Fifo = 1,
    /// <summary>A character device (S_IFCHR).</summary>
    CharacterDevice = 2,
    /// <summary>A directory (S_IFDIR).</summary>
    Directory = 4,
    /// <summary>A block device (S_IFBLK).</summary>
    BlockDevice = 6,
    /// <summary>A regular file (S_IFREG).</summary>
    RegularFile = 8,
    /// <summary>A symbolic link (S_IFLNK).</summary>
    Symlink = 10,
    /// <summary>A Unix domain socket (S_IFSOCK).</summary>
    Socket = 12,
}
