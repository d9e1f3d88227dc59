namespace DirectFuse.Testing;

/// <summary>What the file system answered to STATFS (struct fuse_kstatfs).</summary>
public sealed record FuseStatFs
{
    /// <summary>Total blocks of <see cref="FragmentSize"/> bytes (f_blocks).</summary>
    public ulong Blocks { get; init; }
    /// <summary>Free blocks (f_bfree).</summary>
    public ulong BlocksFree { get; init; }
    /// <summary>Blocks free to unprivileged users (f_bavail).</summary>
    public ulong BlocksAvailable { get; init; }
    /// <summary>Total inodes (f_files).</summary>
    public ulong Files { get; init; }
    /// <summary>Free inodes (f_ffree).</summary>
    public ulong FilesFree { get; init; }
    /// <summary>The preferred block size (f_bsize).</summary>
    public uint BlockSize { get; init; }
    /// <summary>The longest name (f_namelen).</summary>
    public uint NameMax { get; init; }
    /// <summary>The fragment size (f_frsize).</summary>
    public uint FragmentSize { get; init; }
}
