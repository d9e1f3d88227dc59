namespace DirectFuse.LowLevel;

/// <summary><c>FOPEN_*</c>: flags of an OPEN/CREATE/OPENDIR reply.</summary>
[Flags]
public enum OpenReplyFlags : uint
{
    None = 0,
    /// <summary>Bypass the page cache: every read and write reaches the server.</summary>
    DirectIo = 1 << 0,
    /// <summary>Keep the page cache from the previous open.</summary>
    KeepCache = 1 << 1,
    NonSeekable = 1 << 2,
    CacheDir = 1 << 3,
    Stream = 1 << 4,
    /// <summary>No FLUSH on close.</summary>
    NoFlush = 1 << 5,
    ParallelDirectWrites = 1 << 6,
    /// <summary>Reads, writes and mmap go to the backing file named by the backing id.</summary>
    Passthrough = 1 << 7,
}
