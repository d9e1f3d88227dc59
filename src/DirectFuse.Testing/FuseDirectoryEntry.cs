namespace DirectFuse.Testing;

/// <summary>One record of a READDIR listing (struct fuse_dirent).</summary>
/// <param name="Name">The entry's name.</param>
/// <param name="Ino">The inode number the listing reports (not a node id: READDIR takes no lookup reference).</param>
/// <param name="Type">The type from d_type; <see cref="FuseFileType.Unknown"/> when the file system did not say.</param>
/// <param name="Offset">The offset to continue the listing after this entry.</param>
public sealed record FuseDirectoryEntry(string Name, ulong Ino, FuseFileType Type, long Offset);
