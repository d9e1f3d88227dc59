namespace DirectFuse.Testing;

/// <summary>What the file system answered to OPEN, OPENDIR or CREATE (struct fuse_open_out).</summary>
/// <param name="Handle">The file handle the kernel passes back with every request on this open file.</param>
/// <param name="Flags">How the kernel is to treat the open file.</param>
public sealed record FuseOpenFile(ulong Handle, FuseOpenFlags Flags);

/// <summary>The FOPEN_* flags of an open reply.</summary>
[Flags]
public enum FuseOpenFlags : uint
{
    /// <summary>No flags.</summary>
    None = 0,
    /// <summary>FOPEN_DIRECT_IO: bypass the page cache.</summary>
    DirectIo = 1,
    /// <summary>FOPEN_KEEP_CACHE: keep cached data from earlier opens.</summary>
    KeepCache = 2,
    /// <summary>FOPEN_NONSEEKABLE: the file is not seekable.</summary>
    NonSeekable = 4,
    /// <summary>FOPEN_CACHE_DIR: the kernel may cache the directory's listing.</summary>
    CacheDirectory = 8,
    /// <summary>FOPEN_STREAM: a stream without file position.</summary>
    Stream = 16,
    /// <summary>FOPEN_NOFLUSH: no FLUSH when the file is closed.</summary>
    NoFlush = 32,
    /// <summary>FOPEN_PARALLEL_DIRECT_WRITES: direct writes may run in parallel.</summary>
    ParallelDirectWrites = 64,
    /// <summary>FOPEN_PASSTHROUGH: reads and writes go to a backing file.</summary>
    Passthrough = 128,
}

/// <summary>What the file system answered to CREATE: the new file's entry and the open file.</summary>
/// <param name="Entry">The new name's entry (one lookup reference).</param>
/// <param name="File">The open file.</param>
public sealed record FuseCreatedFile(FuseEntry Entry, FuseOpenFile File);
