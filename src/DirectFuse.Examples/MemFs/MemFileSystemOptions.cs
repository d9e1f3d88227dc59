namespace DirectFuse.Examples.MemFs;

/// <summary>Settings of a <see cref="MemFileSystem"/>.</summary>
public sealed record MemFileSystemOptions
{
    /// <summary>How long the kernel may cache a name's lookup.</summary>
    public TimeSpan EntryTimeout { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>How long the kernel may cache attributes.</summary>
    public TimeSpan AttrTimeout { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Bytes of file data the file system may hold (what statfs reports as its size). Writes that would need
    /// more fail with ENOSPC. Null: half of the memory available to the process.
    /// </summary>
    public long? Capacity { get; init; }

    /// <summary>How many nodes may exist at once (statfs f_files); creating more fails with ENOSPC.</summary>
    public long MaxNodes { get; init; } = 1L << 22;

    /// <summary>Permission bits of the root directory.</summary>
    public uint RootMode { get; init; } = 0x1ED; // 0755

    /// <summary>Owner of the root directory; null: the server's effective uid.</summary>
    public uint? RootUid { get; init; }

    /// <summary>Group of the root directory; null: the server's effective gid.</summary>
    public uint? RootGid { get; init; }
}
