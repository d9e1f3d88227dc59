namespace DirectFuse.LowLevel;

/// <summary>
/// open(2)'s flags as the kernel passes them to <see cref="LowLevelFileSystem.OpenAsync"/> and
/// <see cref="LowLevelFileSystem.CreateAsync"/> (an <c>int</c> there: test with <c>((OpenFlags)flags)</c>).
/// The access mode is a number, not a bit: compare <c>flags &amp; AccessModeMask</c> with
/// <see cref="ReadOnly"/>, <see cref="WriteOnly"/> or <see cref="ReadWrite"/>.
/// </summary>
/// <remarks>
/// Only the flags whose values are the same on every Linux architecture are named; O_DIRECT, O_DIRECTORY,
/// O_NOFOLLOW and O_LARGEFILE differ between x86-64 and arm64, and arrive as the client's architecture spells them.
/// </remarks>
[Flags]
public enum OpenFlags
{
    /// <summary>O_RDONLY (access mode 0).</summary>
    ReadOnly = 0,
    /// <summary>O_WRONLY (access mode 1).</summary>
    WriteOnly = 1,
    /// <summary>O_RDWR (access mode 2).</summary>
    ReadWrite = 2,
    /// <summary>O_ACCMODE: the bits of the access mode.</summary>
    AccessModeMask = 3,
    /// <summary>O_CREAT: seen by CREATE only; the kernel removes it from OPEN.</summary>
    Create = 0x40,
    /// <summary>O_EXCL: seen by CREATE only; the kernel removes it from OPEN.</summary>
    Exclusive = 0x80,
    /// <summary>O_NOCTTY: the kernel removes it.</summary>
    NoControllingTerminal = 0x100,
    /// <summary>
    /// O_TRUNC: reaches OPEN only when the file system asked for it with
    /// <see cref="LowLevelFileSystem.TruncatesOnOpen"/>; otherwise the kernel empties the file with a SETATTR
    /// of size 0 before the OPEN, and removes the flag.
    /// </summary>
    Truncate = 0x200,
    /// <summary>O_APPEND: every write goes to the end of the file (WRITE's offset already says where).</summary>
    Append = 0x400,
    /// <summary>O_NONBLOCK.</summary>
    NonBlocking = 0x800,
    /// <summary>O_DSYNC: data written must be on stable storage when WRITE is answered.</summary>
    DataSync = 0x1000,
    /// <summary>O_NOATIME.</summary>
    NoAccessTime = 0x40000,
    /// <summary>O_CLOEXEC (a file-descriptor flag; the kernel does not pass it).</summary>
    CloseOnExec = 0x80000,
    /// <summary>O_SYNC: data and metadata must be on stable storage when WRITE is answered (includes <see cref="DataSync"/>).</summary>
    Sync = 0x101000,
}
