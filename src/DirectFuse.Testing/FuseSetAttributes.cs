namespace DirectFuse.Testing;

/// <summary>
/// The changes a SETATTR asks for (what chmod, chown, truncate and utimensat send). Only what is set is sent;
/// everything left null stays as it is.
/// </summary>
public sealed record FuseSetAttributes
{
    /// <summary>A new size (truncate, ftruncate, open with O_TRUNC).</summary>
    public long? Size { get; init; }
    /// <summary>New permission bits (chmod); the kernel sends the whole mode, file type bits included.</summary>
    public uint? Mode { get; init; }
    /// <summary>A new owner (chown).</summary>
    public uint? Uid { get; init; }
    /// <summary>A new group (chown, chgrp).</summary>
    public uint? Gid { get; init; }
    /// <summary>A new access time.</summary>
    public DateTimeOffset? AccessTime { get; init; }
    /// <summary>A new modification time.</summary>
    public DateTimeOffset? ModificationTime { get; init; }
    /// <summary>Set the access time to the file system's now (UTIME_NOW).</summary>
    public bool AccessTimeNow { get; init; }
    /// <summary>Set the modification time to the file system's now (UTIME_NOW).</summary>
    public bool ModificationTimeNow { get; init; }
    /// <summary>The open file the change is made through (ftruncate, fchmod), if any.</summary>
    public ulong? Handle { get; init; }
}
