namespace DirectFuse.Session;

/// <summary>How the kernel's requests reach a session.</summary>
public enum FuseTransport
{
    /// <summary>read(2) and write(2) on /dev/fuse and its clones, one worker thread each.</summary>
    DevFuse,
    /// <summary>FUSE over io_uring: a ring queue per CPU (FORGET, INTERRUPT and notifications still use /dev/fuse).</summary>
    IoUring,
}
