namespace DirectFuse.LowLevel;

/// <summary>
/// The inode-based file system API: one virtual method per FUSE request, in the shape of libfuse's lowlevel
/// operations. Override what the file system supports; every other request answers ENOSYS (the kernel then
/// stops sending some of them, such as FLUSH, ACCESS, FSYNC and XATTR calls).
/// </summary>
/// <remarks>
/// <para><b>Replies.</b> Each method's return value is its single reply, so a handler can neither answer twice
/// nor forget to answer. Return an <see cref="Errno"/> for an expected failure (no exception cost); throw
/// <see cref="FuseException"/> for a specific errno from deep inside; any other exception answers EIO and is
/// logged.</para>
/// <para><b>Lookup counts.</b> Every successful LOOKUP, MKNOD, MKDIR, SYMLINK, LINK, CREATE, and every READDIRPLUS
/// entry with a non-zero node id (other than "." and ".."), adds one to the node's lookup count;
/// <see cref="Forget"/> subtracts. A node id must stay valid while its count is above zero, even after the
/// last name of the node is gone.</para>
/// <para><b>Concurrency.</b> Requests run concurrently on several threads; handlers that complete
/// synchronously run on the thread that read the request. Buffers passed in (names, write data, read
/// buffers) are valid until the returned task completes.</para>
/// <para><b>Interrupts.</b> The <see cref="CancellationToken"/> is cancelled when the kernel sends INTERRUPT for
/// the request (the caller got a signal); an <see cref="OperationCanceledException"/> then answers EINTR.</para>
/// <para><b>Self-deadlock.</b> A handler must not touch its own mount point: the request it makes waits for a
/// worker thread that may be the one waiting for it.</para>
/// </remarks>
public abstract class LowLevelFileSystem
{
    /// <summary>
    /// A completed task holding <paramref name="result"/>: for handlers that answer synchronously, without an async
    /// state machine.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)] // one copy of a large T fewer
    protected static ValueTask<Result<T>> Done<T>(Result<T> result) => new(result);
    /// <summary>
    /// A completed task holding <paramref name="errno"/> (<see cref="Errno.Ok"/> for success), for handlers that answer
    /// synchronously.
    /// </summary>
    protected static ValueTask<Errno> Done(Errno errno) => new(errno);
    private static ValueTask<Result<T>> NotImplemented<T>() => new(Errno.ENOSYS);
    private static readonly ValueTask<Errno> NotImplementedErrno = new(Errno.ENOSYS);
    private static readonly ValueTask<Errno> Success = new(Errno.Ok);

    /// <summary>
    /// The kinds of file lock this file system serves with <see cref="GetLkAsync"/> and <see cref="SetLkAsync"/>;
    /// the kernel keeps the others itself. <see cref="LockKinds.None"/> unless overridden: a file system that
    /// implements locks must say so here, or its lock handlers are never called. Read once, before
    /// <see cref="Init"/>, to choose the lock capabilities in <see cref="FuseConnection.Want"/>.
    /// </summary>
    public virtual LockKinds ServedLocks => LockKinds.None;

    /// <summary>
    /// True when <see cref="OpenAsync"/> handles <see cref="OpenFlags.Truncate"/> itself (empties the file, or
    /// deliberately keeps a file of fixed size). The kernel is then asked for FUSE_ATOMIC_O_TRUNC, and open(2)
    /// with O_TRUNC of an existing file arrives as one OPEN whose flags contain <see cref="OpenFlags.Truncate"/>.
    /// False unless overridden: the kernel then empties the file with <see cref="SetAttrAsync"/> (size 0) before
    /// the OPEN and takes O_TRUNC out of its flags, which every file system that serves SETATTR handles. A file
    /// system that says true and ignores the flag leaves old bytes behind: <c>echo x &gt; file</c> over a longer
    /// file gives <c>x\n</c> followed by the rest. Read once, before <see cref="Init"/>.
    /// </summary>
    public virtual bool TruncatesOnOpen => false;

    /// <summary>Called with the kernel's offer before INIT is answered: adjust <see cref="FuseConnection.Want"/> and limits here.</summary>
    public virtual void Init(FuseConnection connection) { }

    /// <summary>Called once when the session ends (unmount or Dispose).</summary>
    public virtual void Destroy() { }

    /// <summary>LOOKUP: find <paramref name="name"/> in <paramref name="parent"/>. ENOENT, or a negative entry, if absent.</summary>
    public virtual ValueTask<Result<EntryReply>> LookupAsync(FuseContext context, NodeId parent, FileName name, CancellationToken cancellationToken) => NotImplemented<EntryReply>();

    /// <summary>FORGET/BATCH_FORGET: the kernel drops <paramref name="count"/> lookup references. No reply.</summary>
    public virtual void Forget(NodeId node, ulong count) { }

    /// <summary>GETATTR. <paramref name="handle"/> is set when the kernel asks through an open file (fstat).</summary>
    public virtual ValueTask<Result<AttrReply>> GetAttrAsync(FuseContext context, NodeId node, FileHandle? handle, CancellationToken cancellationToken) => NotImplemented<AttrReply>();

    /// <summary>SETATTR: chmod, chown, truncate, utimens; answer the attributes after the change.</summary>
    public virtual ValueTask<Result<AttrReply>> SetAttrAsync(FuseContext context, NodeId node, SetAttrRequest request, CancellationToken cancellationToken) => NotImplemented<AttrReply>();

    /// <summary>READLINK: write the target into <paramref name="buffer"/> and return its length.</summary>
    public virtual ValueTask<Result<int>> ReadLinkAsync(FuseContext context, NodeId node, Memory<byte> buffer, CancellationToken cancellationToken) => NotImplemented<int>();

    /// <summary>
    /// MKNOD: create a regular file, device node, FIFO or socket named <paramref name="name"/> in
    /// <paramref name="parent"/> (mknod(2); also open(2) with O_CREAT when CREATE is not implemented).
    /// <paramref name="mode"/> holds the file type and permission bits (with FUSE_DONT_MASK negotiated the umask in
    /// <see cref="FuseContext.Umask"/> is not yet applied); <paramref name="rdev"/> the device number of a block or
    /// character device node. Answer the new node (one lookup reference), or EEXIST, ENOSPC, EPERM...
    /// </summary>
    public virtual ValueTask<Result<EntryReply>> MkNodAsync(FuseContext context, NodeId parent, FileName name, uint mode, uint rdev, CancellationToken cancellationToken) => NotImplemented<EntryReply>();

    /// <summary>
    /// MKDIR: create the directory <paramref name="name"/> in <paramref name="parent"/> with the permission bits in
    /// <paramref name="mode"/> (the type bit may be absent; with FUSE_DONT_MASK negotiated the umask is not yet
    /// applied). Answer the new directory (one lookup reference), or EEXIST, ENOSPC...
    /// </summary>
    public virtual ValueTask<Result<EntryReply>> MkDirAsync(FuseContext context, NodeId parent, FileName name, uint mode, CancellationToken cancellationToken) => NotImplemented<EntryReply>();

    /// <summary>
    /// UNLINK: remove the name <paramref name="name"/> from <paramref name="parent"/>. The node lives on while the
    /// kernel still holds lookup references or open files on it.
    /// </summary>
    public virtual ValueTask<Errno> UnlinkAsync(FuseContext context, NodeId parent, FileName name, CancellationToken cancellationToken) => NotImplementedErrno;

    /// <summary>
    /// RMDIR: remove the empty directory <paramref name="name"/> from <paramref name="parent"/>; ENOTEMPTY if it has
    /// entries.
    /// </summary>
    public virtual ValueTask<Errno> RmDirAsync(FuseContext context, NodeId parent, FileName name, CancellationToken cancellationToken) => NotImplementedErrno;

    /// <summary>
    /// SYMLINK: create the symbolic link <paramref name="name"/> in <paramref name="parent"/> pointing at
    /// <paramref name="target"/> (stored as given, not resolved); answer the new link (one lookup reference).
    /// </summary>
    public virtual ValueTask<Result<EntryReply>> SymLinkAsync(FuseContext context, NodeId parent, FileName name, FileName target, CancellationToken cancellationToken) => NotImplemented<EntryReply>();

    /// <summary>RENAME/RENAME2, with <see cref="RenameFlags.NoReplace"/> and <see cref="RenameFlags.Exchange"/>.</summary>
    public virtual ValueTask<Errno> RenameAsync(FuseContext context, NodeId parent, FileName name, NodeId newParent, FileName newName, RenameFlags flags, CancellationToken cancellationToken) => NotImplementedErrno;

    /// <summary>LINK: a new name <paramref name="newName"/> in <paramref name="newParent"/> for <paramref name="node"/>.</summary>
    public virtual ValueTask<Result<EntryReply>> LinkAsync(FuseContext context, NodeId node, NodeId newParent, FileName newName, CancellationToken cancellationToken) => NotImplemented<EntryReply>();

    /// <summary>
    /// OPEN. <paramref name="flags"/> are open(2)'s flags (<see cref="OpenFlags"/>; the kernel removes O_CREAT,
    /// O_EXCL and O_NOCTTY). O_TRUNC (<see cref="OpenFlags.Truncate"/>) arrives here only when
    /// <see cref="TruncatesOnOpen"/> is true: the file must then be emptied here. Otherwise the kernel truncates
    /// with a SETATTR before this OPEN and the flag is absent.
    /// </summary>
    public virtual ValueTask<Result<OpenReply>> OpenAsync(FuseContext context, NodeId node, int flags, CancellationToken cancellationToken) => new(new OpenReply(FileHandle.None));

    /// <summary>CREATE: create and open a regular file. ENOSYS makes the kernel fall back to MKNOD + OPEN.</summary>
    public virtual ValueTask<Result<CreateReply>> CreateAsync(FuseContext context, NodeId parent, FileName name, uint mode, int flags, CancellationToken cancellationToken) => NotImplemented<CreateReply>();

    /// <summary>READ: fill <paramref name="buffer"/> (the reply buffer itself) from <paramref name="offset"/>; return the byte count (short at end of file).</summary>
    public virtual ValueTask<Result<int>> ReadAsync(FuseContext context, NodeId node, FileHandle handle, long offset, Memory<byte> buffer, CancellationToken cancellationToken) => NotImplemented<int>();

    /// <summary>WRITE: return the number of bytes written.</summary>
    public virtual ValueTask<Result<int>> WriteAsync(FuseContext context, NodeId node, FileHandle handle, long offset, ReadOnlyMemory<byte> data, WriteFlags flags, CancellationToken cancellationToken) => NotImplemented<int>();

    /// <summary>FLUSH: at every close(2) of a file descriptor; may come several times per open file.</summary>
    public virtual ValueTask<Errno> FlushAsync(FuseContext context, NodeId node, FileHandle handle, ulong lockOwner, CancellationToken cancellationToken) => NotImplementedErrno;

    /// <summary>RELEASE: the last reference to the open file is gone. Its errno is not seen by anybody.</summary>
    public virtual ValueTask<Errno> ReleaseAsync(FuseContext context, NodeId node, FileHandle handle, int flags, ReleaseFlags releaseFlags, ulong lockOwner, CancellationToken cancellationToken) => Success;

    /// <summary>
    /// FSYNC: make the open file's data (and, unless <paramref name="dataOnly"/>, its attributes) durable (fsync(2),
    /// fdatasync(2)). ENOSYS makes the kernel treat later fsyncs as successful.
    /// </summary>
    public virtual ValueTask<Errno> FsyncAsync(FuseContext context, NodeId node, FileHandle handle, bool dataOnly, CancellationToken cancellationToken) => NotImplementedErrno;

    /// <summary>
    /// OPENDIR: open a directory for listing, with open(2)'s <paramref name="flags"/>. Defaults to handle 0; the handle
    /// comes back on READDIR and RELEASEDIR.
    /// </summary>
    public virtual ValueTask<Result<OpenReply>> OpenDirAsync(FuseContext context, NodeId node, int flags, CancellationToken cancellationToken) => new(new OpenReply(FileHandle.None));

    /// <summary>READDIR/READDIRPLUS: add entries after <paramref name="offset"/> to <paramref name="buffer"/> until it is full.</summary>
    public virtual ValueTask<Errno> ReadDirAsync(FuseContext context, NodeId node, FileHandle handle, long offset, DirectoryBuffer buffer, CancellationToken cancellationToken) => NotImplementedErrno;

    /// <summary>
    /// RELEASEDIR: the directory handle from <see cref="OpenDirAsync"/> is closed; nobody sees the errno.
    /// </summary>
    public virtual ValueTask<Errno> ReleaseDirAsync(FuseContext context, NodeId node, FileHandle handle, int flags, CancellationToken cancellationToken) => Success;

    /// <summary>
    /// FSYNCDIR: make the directory's entries durable (fsync(2) on a directory). ENOSYS makes the kernel treat later
    /// calls as successful.
    /// </summary>
    public virtual ValueTask<Errno> FsyncDirAsync(FuseContext context, NodeId node, FileHandle handle, bool dataOnly, CancellationToken cancellationToken) => NotImplementedErrno;

    /// <summary>
    /// STATFS: the file system's sizes for statfs(2) and df. The default reports no blocks and no inodes, with 255-byte
    /// names.
    /// </summary>
    public virtual ValueTask<Result<StatFsReply>> StatFsAsync(FuseContext context, NodeId node, CancellationToken cancellationToken) =>
        new(new StatFsReply { NameMax = 255, BlockSize = 512, FragmentSize = 512 });

    /// <summary>
    /// SETXATTR: set the extended attribute <paramref name="name"/> to <paramref name="value"/>.
    /// <paramref name="flags"/>: XATTR_CREATE (1: EEXIST if it exists) or XATTR_REPLACE (2: ENODATA if it does not).
    /// </summary>
    public virtual ValueTask<Errno> SetXattrAsync(FuseContext context, NodeId node, FileName name, ReadOnlyMemory<byte> value, int flags, CancellationToken cancellationToken) => NotImplementedErrno;

    /// <summary>GETXATTR: with an empty <paramref name="buffer"/> return the value's size; otherwise copy it, or ERANGE if it does not fit.</summary>
    public virtual ValueTask<Result<int>> GetXattrAsync(FuseContext context, NodeId node, FileName name, Memory<byte> buffer, CancellationToken cancellationToken) => NotImplemented<int>();

    /// <summary>LISTXATTR: zero-terminated names; the same size rules as <see cref="GetXattrAsync"/>.</summary>
    public virtual ValueTask<Result<int>> ListXattrAsync(FuseContext context, NodeId node, Memory<byte> buffer, CancellationToken cancellationToken) => NotImplemented<int>();

    /// <summary>REMOVEXATTR: remove the extended attribute <paramref name="name"/>; ENODATA if there is none.</summary>
    public virtual ValueTask<Errno> RemoveXattrAsync(FuseContext context, NodeId node, FileName name, CancellationToken cancellationToken) => NotImplementedErrno;

    /// <summary>ACCESS (R_OK 4, W_OK 2, X_OK 1, F_OK 0). Not sent with the default_permissions mount option.</summary>
    public virtual ValueTask<Errno> AccessAsync(FuseContext context, NodeId node, int mask, CancellationToken cancellationToken) => NotImplementedErrno;

    /// <summary>GETLK: the first lock that conflicts with <paramref name="lock"/>, or it with type F_UNLCK. Only called when <see cref="ServedLocks"/> has <see cref="LockKinds.Posix"/>.</summary>
    public virtual ValueTask<Result<FileLock>> GetLkAsync(FuseContext context, NodeId node, FileHandle handle, ulong owner, FileLock @lock, CancellationToken cancellationToken) => NotImplemented<FileLock>();

    /// <summary>
    /// SETLK/SETLKW (and flock(2) with <paramref name="isFlock"/>). With <paramref name="wait"/> block until it can
    /// be taken. Only called for the kinds <see cref="ServedLocks"/> declares.
    /// </summary>
    public virtual ValueTask<Errno> SetLkAsync(FuseContext context, NodeId node, FileHandle handle, ulong owner, FileLock @lock, bool wait, bool isFlock, CancellationToken cancellationToken) => NotImplementedErrno;

    /// <summary>
    /// FALLOCATE: allocate, or with FALLOC_FL_PUNCH_HOLE free, the byte range [<paramref name="offset"/>, offset +
    /// <paramref name="length"/>) of the open file (fallocate(2)); <paramref name="mode"/> holds fallocate(2)'s mode
    /// bits (FALLOC_FL_KEEP_SIZE 1, FALLOC_FL_PUNCH_HOLE 2, ...). ENOSYS makes the kernel answer EOPNOTSUPP from then
    /// on.
    /// </summary>
    public virtual ValueTask<Errno> FallocateAsync(FuseContext context, NodeId node, FileHandle handle, long offset, long length, int mode, CancellationToken cancellationToken) => NotImplementedErrno;

    /// <summary>LSEEK for SEEK_DATA (3) and SEEK_HOLE (4); other whence values are handled by the kernel.</summary>
    public virtual ValueTask<Result<long>> LseekAsync(FuseContext context, NodeId node, FileHandle handle, long offset, int whence, CancellationToken cancellationToken) => NotImplemented<long>();

    /// <summary>
    /// COPY_FILE_RANGE: copy <paramref name="length"/> bytes from one open file to another inside this file system
    /// (copy_file_range(2)); answer the bytes copied (short at end of file). ENOSYS makes the kernel copy through READ
    /// and WRITE.
    /// </summary>
    public virtual ValueTask<Result<long>> CopyFileRangeAsync(FuseContext context, NodeId nodeIn, FileHandle handleIn, long offsetIn, NodeId nodeOut, FileHandle handleOut, long offsetOut, long length, ulong flags, CancellationToken cancellationToken) => NotImplemented<long>();

    /// <summary>
    /// IOCTL (restricted: the kernel copied <paramref name="input"/> in by the size in the command number and
    /// copies up to <c>output.Length</c> bytes back out).
    /// </summary>
    public virtual ValueTask<Result<IoctlReply>> IoctlAsync(FuseContext context, NodeId node, FileHandle handle, uint command, ulong argument, ReadOnlyMemory<byte> input, Memory<byte> output, IoctlFlags flags, CancellationToken cancellationToken) => NotImplemented<IoctlReply>();

    /// <summary>POLL: return the ready events. With <paramref name="pollHandle"/> set, wake the waiter later with <see cref="Session.FuseNotifier.PollWakeup"/>.</summary>
    public virtual ValueTask<Result<uint>> PollAsync(FuseContext context, NodeId node, FileHandle handle, ulong? pollHandle, uint events, CancellationToken cancellationToken) => NotImplemented<uint>();

    /// <summary>SYNCFS: make everything of this file system durable (syncfs(2); protocol 7.34 and later).</summary>
    public virtual ValueTask<Errno> SyncFsAsync(FuseContext context, NodeId node, CancellationToken cancellationToken) => NotImplementedErrno;
}
