namespace DirectFuse.LowLevel;

/// <summary>
/// The kinds of file lock a file system serves itself, declared by <see cref="LowLevelFileSystem.ServedLocks"/>
/// (or <see cref="PathApi.PathFileSystem.ServedLocks"/>). At INIT the kernel is asked to send the declared kinds
/// as requests; every other kind it keeps locally, without asking the file system.
/// </summary>
/// <remarks>
/// <para>These are lock APIs, not lock types: a <see cref="Posix"/> request still carries a read, write or unlock
/// type in its <see cref="FileLock"/>.</para>
/// <para>Locks are the one capability declared ahead rather than discovered. For other requests an ENOSYS answer
/// teaches the kernel to stop sending them; but once the kernel hands a kind of lock over, an unimplemented one
/// fails every <c>fcntl</c> or <c>flock</c> call of every client. Declaring nothing is therefore the safe default:
/// locks still work, kept by the kernel of this machine, which is all a local file system needs. Declare a kind
/// only when the file system implements it (to share locks with other machines or with processes using a
/// backing store directly, or to see them).</para>
/// </remarks>
[Flags]
public enum LockKinds
{
    /// <summary>No lock reaches the file system: the kernel keeps POSIX and flock locks itself, per mount.</summary>
    None = 0,

    /// <summary>
    /// POSIX record locks (<c>fcntl</c> F_GETLK, F_SETLK, F_SETLKW, and the F_OFD_* variants): GETLK and
    /// SETLK/SETLKW requests, served by <see cref="LowLevelFileSystem.GetLkAsync"/> and
    /// <see cref="LowLevelFileSystem.SetLkAsync"/> (or <see cref="PathApi.PathFileSystem.GetLockAsync"/> and
    /// <see cref="PathApi.PathFileSystem.SetLockAsync"/>). Asks the kernel for FUSE_POSIX_LOCKS.
    /// </summary>
    Posix = 1 << 0,

    /// <summary>
    /// <c>flock(2)</c> locks: SETLK/SETLKW requests with the flock flag, served by
    /// <see cref="LowLevelFileSystem.SetLkAsync"/> with <c>isFlock</c> set (or
    /// <see cref="PathApi.PathFileSystem.FlockAsync"/>). Asks the kernel for FUSE_FLOCK_LOCKS.
    /// </summary>
    Flock = 1 << 1,
}
