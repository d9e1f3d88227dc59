namespace DirectFuse.LowLevel;

/// <summary><c>FATTR_*</c>: which fields of a SETATTR request are valid.</summary>
[Flags]
public enum SetAttrFields : uint
{
    None = 0,
    Mode = 1 << 0,
    Uid = 1 << 1,
    Gid = 1 << 2,
    Size = 1 << 3,
    Atime = 1 << 4,
    Mtime = 1 << 5,
    Fh = 1 << 6,
    AtimeNow = 1 << 7,
    MtimeNow = 1 << 8,
    LockOwner = 1 << 9,
    Ctime = 1 << 10,
    KillSuidGid = 1 << 11,
}
