namespace DirectFuse.DirectMmap;

/// <summary>How region-backed files reach clients on this connection.</summary>
public enum DirectMmapMode
{
    /// <summary>
    /// The region's memfd is the open file's passthrough backing file: client read, write and mmap touch
    /// the same pages as the server, with no request at all. Needs kernel passthrough (6.9+) and CAP_SYS_ADMIN,
    /// like the 2010 patch.
    /// </summary>
    Passthrough,
    /// <summary>
    /// The client's page cache mirrors the region: faults are served by READ from the region, writebacks
    /// land in it, and the server syncs explicitly with NOTIFY_STORE (push) and NOTIFY_RETRIEVE (pull).
    /// Needs no privilege.
    /// </summary>
    PageCache,
    /// <summary>No mmap support: files are opened for direct I/O; MAP_PRIVATE works, MAP_SHARED fails with ENODEV (the 2010 fallback).</summary>
    None,
}
