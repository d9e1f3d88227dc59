namespace DirectFuse.LowLevel;

/// <summary><c>FOPEN_*</c>: flags of an OPEN/CREATE/OPENDIR reply.</summary>
[Flags]
public enum OpenReplyFlags : uint
{
    /// <summary>Cached, seekable, flushed on close: the defaults.</summary>
    None = 0,
    /// <summary>Bypass the page cache: every read and write reaches the server.</summary>
    DirectIo = 1 << 0,
    /// <summary>Keep the page cache from the previous open.</summary>
    KeepCache = 1 << 1,
    /// <summary>The file cannot seek (lseek and pread fail with ESPIPE), like a pipe.</summary>
    NonSeekable = 1 << 2,
    /// <summary>
    /// OPENDIR: let the kernel cache the directory's listing (since 4.20); keep it across opens with
    /// <see cref="KeepCache"/>.
    /// </summary>
    CacheDir = 1 << 3,
    /// <summary>The file is a stream: no file position at all (reads and writes ignore the offset).</summary>
    Stream = 1 << 4,
    /// <summary>No FLUSH on close.</summary>
    NoFlush = 1 << 5,
    /// <summary>
    /// Allow concurrent direct-I/O writes to the file (the kernel otherwise serialises them per inode).
    /// </summary>
    ParallelDirectWrites = 1 << 6,
    /// <summary>Reads, writes and mmap go to the backing file named by the backing id.</summary>
    Passthrough = 1 << 7,
}
