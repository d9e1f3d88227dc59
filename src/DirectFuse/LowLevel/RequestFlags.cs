namespace DirectFuse.LowLevel;

[Flags]
public enum WriteFlags : uint
{
    None = 0,
    /// <summary>Delayed write from the page cache; the file handle is a guess.</summary>
    Cache = 1 << 0,
    LockOwner = 1 << 1,
    KillSuidGid = 1 << 2,
}

[Flags]
public enum ReleaseFlags : uint
{
    None = 0,
    Flush = 1 << 0,
    FlockUnlock = 1 << 1,
}

[Flags]
public enum IoctlFlags : uint
{
    None = 0,
    Compat = 1 << 0,
    Unrestricted = 1 << 1,
    Retry = 1 << 2,
    Is32Bit = 1 << 3,
    Dir = 1 << 4,
    CompatX32 = 1 << 5,
}

/// <summary>RENAME_* flags of renameat2(2).</summary>
[Flags]
public enum RenameFlags : uint
{
    None = 0,
    NoReplace = 1 << 0,
    Exchange = 1 << 1,
    Whiteout = 1 << 2,
}
