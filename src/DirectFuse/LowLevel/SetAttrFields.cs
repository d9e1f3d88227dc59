namespace DirectFuse.LowLevel;

/// <summary><c>FATTR_*</c>: which fields of a SETATTR request are valid.</summary>
[Flags]
public enum SetAttrFields : uint
{
    /// <summary>Nothing to change.</summary>
    None = 0,
    /// <summary><see cref="SetAttrRequest.Mode"/> is set (chmod).</summary>
    Mode = 1 << 0,
    /// <summary><see cref="SetAttrRequest.Uid"/> is set (chown).</summary>
    Uid = 1 << 1,
    /// <summary><see cref="SetAttrRequest.Gid"/> is set (chown, chgrp).</summary>
    Gid = 1 << 2,
    /// <summary><see cref="SetAttrRequest.Size"/> is set (truncate).</summary>
    Size = 1 << 3,
    /// <summary><see cref="SetAttrRequest.Atime"/> is set (utimensat).</summary>
    Atime = 1 << 4,
    /// <summary><see cref="SetAttrRequest.Mtime"/> is set (utimensat).</summary>
    Mtime = 1 << 5,
    /// <summary><see cref="SetAttrRequest.Handle"/> is set: the change came through an open file.</summary>
    Fh = 1 << 6,
    /// <summary>Set the access time to now (UTIME_NOW), not to <see cref="SetAttrRequest.Atime"/>.</summary>
    AtimeNow = 1 << 7,
    /// <summary>Set the modification time to now (UTIME_NOW), not to <see cref="SetAttrRequest.Mtime"/>.</summary>
    MtimeNow = 1 << 8,
    /// <summary><see cref="SetAttrRequest.LockOwner"/> is set.</summary>
    LockOwner = 1 << 9,
    /// <summary><see cref="SetAttrRequest.Ctime"/> is set.</summary>
    Ctime = 1 << 10,
    /// <summary>
    /// The caller lacks CAP_FSETID: drop set-user-ID and set-group-ID bits with this change (with
    /// FUSE_HANDLE_KILLPRIV_V2).
    /// </summary>
    KillSuidGid = 1 << 11,
}
