namespace DirectFuse.Testing;

/// <summary>A notification the file system sent to the kernel unasked (an invalidation, a store, a poll wakeup).</summary>
/// <param name="Code">The notify code (FUSE_NOTIFY_POLL = 1, INVAL_INODE = 2, INVAL_ENTRY = 3, STORE = 4, RETRIEVE = 5, DELETE = 6, ...).</param>
/// <param name="Payload">The bytes after fuse_out_header.</param>
public sealed record FuseNotification(int Code, byte[] Payload);
