namespace DirectFuse.PathApi;

/// <summary>How a <see cref="PathFileSystemAdapter"/> presents a <see cref="PathFileSystem"/> to the kernel (libfuse's high-level options).</summary>
public sealed record PathFileSystemOptions
{
    /// <summary>How long the kernel may cache a name → node mapping (libfuse <c>entry_timeout</c>).</summary>
    public TimeSpan EntryTimeout { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>How long the kernel may cache attributes (libfuse <c>attr_timeout</c>).</summary>
    public TimeSpan AttrTimeout { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How long the kernel may cache "no such name" after <see cref="PathFileSystem.GetAttrAsync"/> answered
    /// ENOENT during a lookup (libfuse <c>negative_timeout</c>). Zero (the default) caches nothing, so files
    /// that appear behind the kernel's back are seen at once.
    /// </summary>
    public TimeSpan NegativeTimeout { get; init; } = TimeSpan.Zero;

    /// <summary>
    /// Show the <see cref="LowLevel.FileAttr.Ino"/> the file system returns (libfuse <c>use_ino</c>). By default
    /// stat(2) shows the adapter's node id, which is unique per path the kernel knows but differs between
    /// hard links of one file.
    /// </summary>
    public bool UseInodeNumbers { get; init; }

    /// <summary>
    /// Remove unlinked files at once even if they are still open (libfuse <c>hard_remove</c>). By default a
    /// file unlinked (or replaced by a rename) while open is renamed to <c>.fuse_hidden…</c> in its directory
    /// and removed at its last release, so reads and writes through open descriptors keep working for file
    /// systems that only look at paths (the hidden name shows in listings meanwhile, and keeps its directory
    /// from being removed; if the rename fails, the file is removed at once). With this option the file is removed at once; later calls through
    /// its open handles get the path it had when it was removed, and must use the handle to find it.
    /// </summary>
    public bool HardRemove { get; init; }

    /// <summary>
    /// Let the kernel use READDIRPLUS: directory entries for which <see cref="DirectoryFiller"/> was given
    /// attributes then also answer the kernel's lookups (fewer GETATTR calls for <c>ls -l</c>). Off by
    /// default, which makes every listing a plain READDIR.
    /// </summary>
    public bool ReaddirPlus { get; init; }
}
