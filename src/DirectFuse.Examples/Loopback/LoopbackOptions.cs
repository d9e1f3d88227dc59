namespace DirectFuse.Examples.Loopback;

/// <summary>Settings of a <see cref="LoopbackFileSystem"/>.</summary>
public sealed record LoopbackOptions
{
    /// <summary>
    /// Let the kernel read and write the source files directly (FUSE passthrough) when it offers that and the
    /// server may register backing files (CAP_SYS_ADMIN); otherwise the server serves reads and writes.
    /// </summary>
    public bool UsePassthrough { get; init; } = true;

    /// <summary>
    /// How many stacked file systems may lie below the backing files (1 or 2). 2 allows a source on overlayfs
    /// but then this mount cannot itself be stacked under another one.
    /// </summary>
    public uint MaxStackDepth { get; init; } = 1;

    /// <summary>How long the kernel may cache a name's lookup.</summary>
    public TimeSpan EntryTimeout { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>How long the kernel may cache attributes.</summary>
    public TimeSpan AttrTimeout { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Create files, directories, nodes and symlinks with the caller's fsuid/fsgid (when the server runs as root
    /// and the caller is somebody else), so they belong to the caller as on a local file system.
    /// </summary>
    public bool CreateAsCaller { get; init; } = true;

    /// <summary>
    /// Serve extended attributes. Off, every xattr request answers ENOSYS and the kernel stops sending them —
    /// including the GETXATTR of <c>security.capability</c> it otherwise sends before every write to check
    /// whether privileges must be dropped (what libfuse's passthrough_ll does without <c>-o xattr</c>).
    /// </summary>
    public bool Xattrs { get; init; } = true;

    /// <summary>
    /// Answer opens of files on local file systems that do no work when a descriptor is closed (ext2/3/4, XFS,
    /// tmpfs, ramfs) with FOPEN_NOFLUSH, so each close(2) costs no FLUSH round trip. Files on other file
    /// systems (NFS, FUSE, CIFS, overlayfs... whose close reports errors or writes back) keep their FLUSH.
    /// </summary>
    public bool ElideNoOpFlush { get; init; } = true;

    /// <summary>
    /// Let the kernel keep directory listings in its cache (FOPEN_CACHE_DIR) and reuse them on the next opendir
    /// while the source directory's mtime and ctime are unchanged (checked at every OPENDIR), so a repeated
    /// listing of an unchanged directory costs no READDIR at all. Off, every listing reaches the server.
    /// </summary>
    public bool CacheDirectoryListings { get; init; } = true;

    /// <summary>
    /// How many inodes keep an O_PATH descriptor open; null: half the open-file limit. Past it, where the source
    /// supports file handles and the server may open them (CAP_DAC_READ_SEARCH, as root), further inodes are kept
    /// by their handle and reopened for each operation, so the kernel may hold any number of inodes; elsewhere
    /// every inode keeps a descriptor and lookups past the open-file limit answer EMFILE.
    /// </summary>
    public int? InodeDescriptorBudget { get; init; }
}
