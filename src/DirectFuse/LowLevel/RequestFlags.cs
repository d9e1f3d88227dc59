namespace DirectFuse.LowLevel;

/// <summary><c>FUSE_WRITE_*</c>: how a WRITE came about.</summary>
[Flags]
public enum WriteFlags : uint
{
    /// <summary>None of the flags.</summary>
    None = 0,
    /// <summary>Delayed write from the page cache; the file handle is a guess.</summary>
    Cache = 1 << 0,
    /// <summary>The request carries the writer's lock owner.</summary>
    LockOwner = 1 << 1,
    /// <summary>
    /// The writer lacks CAP_FSETID: the write must drop the file's set-user-ID and set-group-ID bits (with
    /// FUSE_HANDLE_KILLPRIV_V2).
    /// </summary>
    KillSuidGid = 1 << 2,
}

/// <summary><c>FUSE_RELEASE_*</c>: what else a RELEASE asks for.</summary>
[Flags]
public enum ReleaseFlags : uint
{
    /// <summary>None of the flags.</summary>
    None = 0,
    /// <summary>FUSE_RELEASE_FLUSH: flush the file's data as FLUSH would before releasing it.</summary>
    Flush = 1 << 0,
    /// <summary>Release the flock(2) lock held through this open file.</summary>
    FlockUnlock = 1 << 1,
}

/// <summary><c>FUSE_IOCTL_*</c>: the kind of an IOCTL request.</summary>
[Flags]
public enum IoctlFlags : uint
{
    /// <summary>None of the flags.</summary>
    None = 0,
    /// <summary>A 32-bit caller's compat_ioctl.</summary>
    Compat = 1 << 0,
    /// <summary>
    /// An unrestricted ioctl (CUSE only): the server may ask for any of the caller's memory with a retry.
    /// </summary>
    Unrestricted = 1 << 1,
    /// <summary>In a reply: call again with the memory ranges that follow.</summary>
    Retry = 1 << 2,
    /// <summary>The caller is a 32-bit process.</summary>
    Is32Bit = 1 << 3,
    /// <summary>The ioctl is on a directory.</summary>
    Dir = 1 << 4,
    /// <summary>The caller uses the x32 ABI.</summary>
    CompatX32 = 1 << 5,
}

/// <summary>RENAME_* flags of renameat2(2).</summary>
[Flags]
public enum RenameFlags : uint
{
    /// <summary>None of the flags.</summary>
    None = 0,
    /// <summary>RENAME_NOREPLACE: fail with EEXIST rather than replace an existing target.</summary>
    NoReplace = 1 << 0,
    /// <summary>RENAME_EXCHANGE: swap the two names atomically; both must exist.</summary>
    Exchange = 1 << 1,
    /// <summary>
    /// RENAME_WHITEOUT: leave a whiteout (a 0:0 character device) at the source, for overlay file systems.
    /// </summary>
    Whiteout = 1 << 2,
}
