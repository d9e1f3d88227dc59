namespace DirectFuse.Testing;

/// <summary>A file's attributes as the kernel received them (struct fuse_attr), with how long it may cache them.</summary>
public sealed record FuseAttributes
{
    /// <summary>The inode number (st_ino).</summary>
    public ulong Ino { get; init; }
    /// <summary>The size in bytes (st_size).</summary>
    public long Size { get; init; }
    /// <summary>512-byte blocks allocated (st_blocks).</summary>
    public long Blocks { get; init; }
    /// <summary>The last access time (st_atime), to 100 ns.</summary>
    public DateTimeOffset AccessTime { get; init; }
    /// <summary>The last modification time (st_mtime), to 100 ns.</summary>
    public DateTimeOffset ModificationTime { get; init; }
    /// <summary>The last status change time (st_ctime), to 100 ns.</summary>
    public DateTimeOffset ChangeTime { get; init; }
    /// <summary>The whole mode: file type bits and permission bits (st_mode).</summary>
    public uint Mode { get; init; }
    /// <summary>The number of hard links (st_nlink).</summary>
    public uint LinkCount { get; init; }
    /// <summary>The owner (st_uid).</summary>
    public uint Uid { get; init; }
    /// <summary>The group (st_gid).</summary>
    public uint Gid { get; init; }
    /// <summary>The device number of a device file (st_rdev).</summary>
    public uint Rdev { get; init; }
    /// <summary>The preferred I/O size (st_blksize).</summary>
    public uint BlockSize { get; init; }
    /// <summary>How long the kernel may cache these attributes.</summary>
    public TimeSpan Timeout { get; init; }

    /// <summary>The file type, from the top bits of <see cref="Mode"/>.</summary>
    public FuseFileType Type => TypeOf(Mode);
    /// <summary>The permission bits with set-user-ID, set-group-ID and sticky (mode &amp; 07777).</summary>
    public uint Permissions => Mode & 0xFFF;
    /// <summary>True for a directory.</summary>
    public bool IsDirectory => Type == FuseFileType.Directory;
    /// <summary>True for a regular file.</summary>
    public bool IsRegularFile => Type == FuseFileType.RegularFile;
    /// <summary>True for a symbolic link.</summary>
    public bool IsSymlink => Type == FuseFileType.Symlink;

    internal static FuseFileType TypeOf(uint mode) => (mode & 0xF000) switch
    {
        0x1000 => FuseFileType.Fifo,
        0x2000 => FuseFileType.CharacterDevice,
        0x4000 => FuseFileType.Directory,
        0x6000 => FuseFileType.BlockDevice,
        0x8000 => FuseFileType.RegularFile,
        0xA000 => FuseFileType.Symlink,
        0xC000 => FuseFileType.Socket,
        _ => FuseFileType.Unknown,
    };
}
