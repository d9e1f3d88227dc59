namespace DirectFuse.Interop;

/// <summary>Ioctl numbers on <c>/dev/fuse</c> (magic 229).</summary>
internal static class FuseIoctl
{
    /// <summary><c>_IOR(229, 0, uint32_t)</c>: attach a fresh /dev/fuse fd to an existing session.</summary>
    public const uint DevClone = 0x8004e500;
    /// <summary><c>_IOW(229, 1, struct fuse_backing_map)</c>: register a backing file for passthrough.</summary>
    public const uint BackingOpen = 0x4010e501;
    /// <summary><c>_IOW(229, 2, uint32_t)</c>: drop a backing id.</summary>
    public const uint BackingClose = 0x4004e502;
}
