using DirectFuse.LowLevel;

namespace DirectFuse.PathApi;

/// <summary>
/// The path-based file system API, the counterpart of libfuse's high-level <c>struct fuse_operations</c>:
/// every call names its file by an absolute path inside the mount (<c>"/"</c>, <c>"/dir/file"</c>). Override
/// what the file system supports and mount it through a <see cref="PathFileSystemAdapter"/>, which keeps the
/// kernel's inode numbers, lookup counts and directory offsets for you.
/// </summary>
/// <remarks>
/// <para><b>Results.</b> As in <see cref="LowLevelFileSystem"/>: return an <see cref="Errno"/> (or a
/// <see cref="Result{T}"/> made from one) for an expected failure, throw <see cref="FuseException"/> for a
/// specific errno from deep inside; any other exception answers EIO and is logged. Calls not overridden answer
/// ENOSYS, except where libfuse's defaults are more useful (open, release, opendir, releasedir and statfs
/// succeed).</para>
/// <para><b>Paths and handles.</b> Paths are built from the names the kernel knows, so after a rename of a
/// directory the files below it are reached by their new paths at once. Calls on an open file also carry the
/// <see cref="FileHandle"/> chosen by <see cref="OpenAsync"/>/<see cref="CreateAsync"/>. A file unlinked while open
/// is hidden as <c>.fuse_hidden…</c> until its last release unless <see cref="PathFileSystemOptions.HardRemove"/>
/// is set; see there.</para>
/// <para><b>Modes.</b> <see cref="MkDirAsync"/>, <see cref="CreateAsync"/> and <see cref="ChmodAsync"/> get
/// permission bits only (07777; the type is implied by the call), <see cref="MkNodAsync"/> the full mode with
/// its S_IF* type. The caller's umask has already been applied.</para>
/// <para><b>Concurrency.</b> Calls run concurrently, also for the same path. Buffers passed in are valid
/// until the returned task completes. A handler must not access its own mount point.</para>
/// </remarks>
public abstract class PathFileSystem
{
    private static readonly ValueTask<Errno> NotImplementedErrno = new(Errno.ENOSYS);
    private static readonly ValueTask<Errno> Success = new(Errno.Ok);
    private static ValueTask<Result<T>> NotImplemented<T>() => new(Errno.ENOSYS);

    /// <summary>
    /// The kinds of file lock this file system serves: <see cref="LockKinds.Posix"/> with <see cref="GetLockAsync"/>
    /// and <see cref="SetLockAsync"/>, <see cref="LockKinds.Flock"/> with <see cref="FlockAsync"/>; the kernel keeps
    /// the others itself. <see cref="LockKinds.None"/> unless overridden: a file system that implements locks must
    /// say so here, or its lock calls are never made. Read once, at INIT.
    /// </summary>
    public virtual LockKinds ServedLocks => LockKinds.None;

    /// <summary>Called at INIT, after the adapter has chosen its capabilities; may adjust <see cref="FuseConnection.Want"/> and limits.</summary>
    public virtual void Init(FuseConnection connection) { }

    /// <summary>Called once when the session ends (unmount or Dispose).</summary>
    public virtual void Destroy() { }

    /// <summary>
    /// stat(2): the attributes of <paramref name="path"/>, or ENOENT. Also answers the kernel's lookups, so
    /// it is the one call every file system needs. <paramref name="handle"/> is set for fstat on an open file.
    /// <see cref="FileAttr.Ino"/> is ignored unless <see cref="PathFileSystemOptions.UseInodeNumbers"/>; a
    /// zero <see cref="FileAttr.NLink"/> is shown as 1.
    /// </summary>
    public virtual ValueTask<Result<FileAttr>> GetAttrAsync(string path, FileHandle? handle, PathContext context) => NotImplemented<FileAttr>();

    /// <summary>readlink(2): the target of the symbolic link at <paramref name="path"/>.</summary>
    public virtual ValueTask<Result<string>> ReadLinkAsync(string path, PathContext context) => NotImplemented<string>();

    /// <summary>mknod(2): create a file node; <paramref name="mode"/> includes the S_IF* type. Also used for regular files when <see cref="CreateAsync"/> is not implemented.</summary>
    public virtual ValueTask<Errno> MkNodAsync(string path, uint mode, uint rdev, PathContext context) => NotImplementedErrno;

    /// <summary>mkdir(2); <paramref name="mode"/> holds the permission bits.</summary>
    public virtual ValueTask<Errno> MkDirAsync(string path, uint mode, PathContext context) => NotImplementedErrno;

    /// <summary>unlink(2): remove a non-directory name.</summary>
    public virtual ValueTask<Errno> UnlinkAsync(string path, PathContext context) => NotImplementedErrno;

    /// <summary>rmdir(2): remove an empty directory (ENOTEMPTY otherwise).</summary>
    public virtual ValueTask<Errno> RmDirAsync(string path, PathContext context) => NotImplementedErrno;

    /// <summary>symlink(2): create <paramref name="path"/> as a symbolic link to <paramref name="target"/> (any text).</summary>
    public virtual ValueTask<Errno> SymLinkAsync(string target, string path, PathContext context) => NotImplementedErrno;

    /// <summary>
    /// rename(2)/renameat2(2): move <paramref name="from"/> to <paramref name="to"/>, replacing a file there. With
    /// <see cref="RenameFlags.NoReplace"/> fail with EEXIST if <paramref name="to"/> exists; with
    /// <see cref="RenameFlags.Exchange"/> swap the two. Answer EINVAL for flags you do not support.
    /// </summary>
    public virtual ValueTask<Errno> RenameAsync(string from, string to, RenameFlags flags, PathContext context) => NotImplementedErrno;

    /// <summary>link(2): make <paramref name="to"/> a new name for the file at <paramref name="from"/>.</summary>
    public virtual ValueTask<Errno> LinkAsync(string from, string to, PathContext context) => NotImplementedErrno;

    /// <summary>chmod(2); <paramref name="mode"/> holds the permission bits (07777). <paramref name="handle"/> is set for fchmod.</summary>
    public virtual ValueTask<Errno> ChmodAsync(string path, uint mode, FileHandle? handle, PathContext context) => NotImplementedErrno;

    /// <summary>chown(2); a null id stays unchanged.</summary>
    public virtual ValueTask<Errno> ChownAsync(string path, uint? uid, uint? gid, FileHandle? handle, PathContext context) => NotImplementedErrno;

    /// <summary>truncate(2)/ftruncate(2), also for open(O_TRUNC): set the size, zero-filling when it grows.</summary>
    public virtual ValueTask<Errno> TruncateAsync(string path, long size, FileHandle? handle, PathContext context) => NotImplementedErrno;

    /// <summary>utimensat(2): set the access and/or modification time; null leaves one unchanged (UTIME_NOW has already been turned into the current time).</summary>
    public virtual ValueTask<Errno> UtimensAsync(string path, TimeSpec? atime, TimeSpec? mtime, FileHandle? handle, PathContext context) => NotImplementedErrno;

    /// <summary>
    /// open(2) of an existing file. <paramref name="flags"/> are open(2)'s flags (never O_CREAT, O_EXCL or
    /// O_TRUNC: truncation arrives as <see cref="TruncateAsync"/>). Answer a handle of your choosing (given back
    /// on every call for this open file) and optional <see cref="OpenReplyFlags"/>. The default accepts
    /// every open with handle 0.
    /// </summary>
    public virtual ValueTask<Result<OpenReply>> OpenAsync(string path, int flags, PathContext context) => new(new OpenReply(FileHandle.None));

    /// <summary>
    /// open(2) with O_CREAT of a file that does not exist: create and open it. Without it the kernel falls back
    /// to <see cref="MkNodAsync"/> and <see cref="OpenAsync"/>.
    /// </summary>
    public virtual ValueTask<Result<OpenReply>> CreateAsync(string path, uint mode, int flags, PathContext context) => NotImplemented<OpenReply>();

    /// <summary>read(2): fill <paramref name="buffer"/> from <paramref name="offset"/> and return the byte count; fewer only at end of file.</summary>
    public virtual ValueTask<Result<int>> ReadAsync(string path, FileHandle handle, long offset, Memory<byte> buffer, PathContext context) => NotImplemented<int>();

    /// <summary>write(2): write <paramref name="data"/> at <paramref name="offset"/> and return the byte count (all of it, unless failing).</summary>
    public virtual ValueTask<Result<int>> WriteAsync(string path, FileHandle handle, long offset, ReadOnlyMemory<byte> data, PathContext context) => NotImplemented<int>();

    /// <summary>statfs(2) of the file system. The default answers 255-byte names and 512-byte blocks.</summary>
    public virtual ValueTask<Result<StatFsReply>> StatFsAsync(string path, PathContext context) =>
        new(new StatFsReply { NameMax = 255, BlockSize = 512, FragmentSize = 512 });

    /// <summary>At every close(2) of a descriptor of the open file (may come several times, or never after a dup).</summary>
    public virtual ValueTask<Errno> FlushAsync(string path, FileHandle handle, ulong lockOwner, PathContext context) => NotImplementedErrno;

    /// <summary>The last reference to the open file is gone: free what <paramref name="handle"/> holds. Nobody sees the errno.</summary>
    public virtual ValueTask<Errno> ReleaseAsync(string path, FileHandle handle, int flags, PathContext context) => Success;

    /// <summary>fsync(2)/fdatasync(2) (<paramref name="dataOnly"/>).</summary>
    public virtual ValueTask<Errno> FsyncAsync(string path, FileHandle handle, bool dataOnly, PathContext context) => NotImplementedErrno;

    /// <summary>opendir(3). The default accepts every directory with handle 0.</summary>
    public virtual ValueTask<Result<OpenReply>> OpenDirAsync(string path, int flags, PathContext context) => new(new OpenReply(FileHandle.None));

    /// <summary>
    /// readdir(3): list <paramref name="path"/> through <paramref name="filler"/>. The simple way: call
    /// <see cref="DirectoryFiller.Add(string, uint)"/> (name and type) or <see cref="DirectoryFiller.Add(string, in FileAttr)"/>
    /// (name and full attributes) for every entry and ignore <paramref name="offset"/>; the adapter keeps the
    /// listing and serves the kernel's offsets from it. For huge or changing directories, use the overloads
    /// with a <c>nextOffset</c> instead: list from after <paramref name="offset"/> on and stop when one returns
    /// false. "." and ".." are listed only if you add them.
    /// </summary>
    public virtual ValueTask<Errno> ReadDirAsync(string path, FileHandle handle, long offset, DirectoryFiller filler, PathContext context) => NotImplementedErrno;

    /// <summary>closedir(3): free what <paramref name="handle"/> holds.</summary>
    public virtual ValueTask<Errno> ReleaseDirAsync(string path, FileHandle handle, PathContext context) => Success;

    /// <summary>fsync(2) of a directory.</summary>
    public virtual ValueTask<Errno> FsyncDirAsync(string path, FileHandle handle, bool dataOnly, PathContext context) => NotImplementedErrno;

    /// <summary>setxattr(2). <paramref name="flags"/>: XATTR_CREATE (1), XATTR_REPLACE (2).</summary>
    public virtual ValueTask<Errno> SetXattrAsync(string path, string name, ReadOnlyMemory<byte> value, int flags, PathContext context) => NotImplementedErrno;

    /// <summary>getxattr(2): the whole value (the adapter handles size queries and ERANGE), or ENODATA.</summary>
    public virtual ValueTask<Result<byte[]>> GetXattrAsync(string path, string name, PathContext context) => NotImplemented<byte[]>();

    /// <summary>listxattr(2): the attribute names (the adapter encodes them and handles size queries).</summary>
    public virtual ValueTask<Result<IReadOnlyList<string>>> ListXattrAsync(string path, PathContext context) => NotImplemented<IReadOnlyList<string>>();

    /// <summary>removexattr(2), or ENODATA.</summary>
    public virtual ValueTask<Errno> RemoveXattrAsync(string path, string name, PathContext context) => NotImplementedErrno;

    /// <summary>access(2) (R_OK 4, W_OK 2, X_OK 1, F_OK 0). Not called with the default_permissions mount option.</summary>
    public virtual ValueTask<Errno> AccessAsync(string path, int mask, PathContext context) => NotImplementedErrno;

    /// <summary>fallocate(2).</summary>
    public virtual ValueTask<Errno> FallocateAsync(string path, FileHandle handle, long offset, long length, int mode, PathContext context) => NotImplementedErrno;

    /// <summary>lseek(2) with SEEK_DATA (3) or SEEK_HOLE (4); the kernel handles the other whence values.</summary>
    public virtual ValueTask<Result<long>> LseekAsync(string path, FileHandle handle, long offset, int whence, PathContext context) => NotImplemented<long>();

    /// <summary>
    /// fcntl(F_GETLK): the first lock that conflicts with <paramref name="request"/>, or it with type
    /// <see cref="FileLock.Unlock"/>. Override this and <see cref="SetLockAsync"/> together and declare
    /// <see cref="LockKinds.Posix"/> in <see cref="ServedLocks"/>; otherwise the kernel keeps POSIX locks locally.
    /// </summary>
    public virtual ValueTask<Result<FileLock>> GetLockAsync(string path, FileHandle handle, ulong owner, FileLock request, PathContext context) => NotImplemented<FileLock>();

    /// <summary>fcntl(F_SETLK/F_SETLKW): take or release a POSIX record lock; with <paramref name="wait"/> block until it can be taken.</summary>
    public virtual ValueTask<Errno> SetLockAsync(string path, FileHandle handle, ulong owner, FileLock request, bool wait, PathContext context) => NotImplementedErrno;

    /// <summary>
    /// flock(2): <paramref name="type"/> is <see cref="FileLock.ReadLock"/> (LOCK_SH), <see cref="FileLock.WriteLock"/>
    /// (LOCK_EX) or <see cref="FileLock.Unlock"/>. Only called when <see cref="ServedLocks"/> has
    /// <see cref="LockKinds.Flock"/>; otherwise the kernel keeps flock locks locally.
    /// </summary>
    public virtual ValueTask<Errno> FlockAsync(string path, FileHandle handle, ulong owner, int type, bool wait, PathContext context) => NotImplementedErrno;
}
