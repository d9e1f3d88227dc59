using DirectFuse.Protocol;

namespace DirectFuse.LowLevel;

/// <summary>
/// The answer to LOOKUP, MKNOD, MKDIR, SYMLINK, LINK and (with an open file) CREATE: a node the kernel now
/// holds one more lookup reference on. <see cref="EntryTimeout"/> is how long the name may be cached,
/// <see cref="AttrTimeout"/> how long the attributes may be. A negative entry (NodeId 0) caches "no such name".
/// </summary>
public struct EntryReply
{
    /// <summary>
    /// The node the name refers to; 0 for a negative entry (the name is cached as absent for
    /// <see cref="EntryTimeout"/>).
    /// </summary>
    public NodeId NodeId;
    /// <summary>
    /// Together with the node id, unique over the file system's life: raise it when a node id is reused (NFS export
    /// needs this).
    /// </summary>
    public ulong Generation;
    /// <summary>The node's attributes.</summary>
    public FileAttr Attr;
    /// <summary>How long the kernel may cache the name; zero asks again on every path walk.</summary>
    public TimeSpan EntryTimeout;
    /// <summary>How long the kernel may cache <see cref="Attr"/>; zero asks again (GETATTR) on every stat.</summary>
    public TimeSpan AttrTimeout;

    /// <summary>An entry for <paramref name="nodeId"/> with generation 0.</summary>
    public EntryReply(NodeId nodeId, in FileAttr attr, TimeSpan entryTimeout, TimeSpan attrTimeout)
    {
        NodeId = nodeId;
        Generation = 0;
        Attr = attr;
        EntryTimeout = entryTimeout;
        AttrTimeout = attrTimeout;
    }

    internal readonly void WriteTo(ref FuseEntryOut e)
    {
        e.NodeId = NodeId.Value;
        e.Generation = Generation;
        (e.EntryValid, e.EntryValidNsec) = SplitTimeout(EntryTimeout);
        (e.AttrValid, e.AttrValidNsec) = SplitTimeout(AttrTimeout);
        Attr.WriteTo(ref e.Attr);
    }

    internal static (ulong Seconds, uint Nanoseconds) SplitTimeout(TimeSpan timeout)
    {
        if (timeout <= TimeSpan.Zero) return (0, 0);
        long ticks = timeout.Ticks;
        return ((ulong)(ticks / TimeSpan.TicksPerSecond), (uint)(ticks % TimeSpan.TicksPerSecond * 100));
    }
}

/// <summary>The answer to GETATTR and SETATTR.</summary>
public struct AttrReply
{
    /// <summary>The node's attributes.</summary>
    public FileAttr Attr;
    /// <summary>How long the kernel may cache <see cref="Attr"/>; zero asks again on every stat.</summary>
    public TimeSpan Timeout;

    /// <summary>The attributes <paramref name="attr"/>, cacheable for <paramref name="timeout"/>.</summary>
    public AttrReply(in FileAttr attr, TimeSpan timeout)
    {
        Attr = attr;
        Timeout = timeout;
    }
}

/// <summary>The answer to OPEN and OPENDIR.</summary>
public struct OpenReply
{
    /// <summary>
    /// The file system's handle for this open file, passed back on each request for it until RELEASE.
    /// </summary>
    public FileHandle Handle;
    /// <summary>How the kernel treats the open file: direct I/O, keep the page cache, passthrough...</summary>
    public OpenReplyFlags Flags;
    /// <summary>With <see cref="OpenReplyFlags.Passthrough"/>: the backing file's id (see <see cref="Session.BackingFile"/>).</summary>
    public int BackingId;

    /// <summary>
    /// An open file with <paramref name="handle"/>, <paramref name="flags"/> and, for passthrough, the backing file's
    /// <paramref name="backingId"/>.
    /// </summary>
    public OpenReply(FileHandle handle, OpenReplyFlags flags = OpenReplyFlags.None, int backingId = 0)
    {
        Handle = handle;
        Flags = flags;
        BackingId = backingId;
    }
}

/// <summary>The answer to CREATE: the new node and its open file.</summary>
public struct CreateReply
{
    /// <summary>The new node, as a LOOKUP would answer it (one lookup reference).</summary>
    public EntryReply Entry;
    /// <summary>The open file on the new node.</summary>
    public OpenReply Open;

    /// <summary>The new node <paramref name="entry"/>, opened as <paramref name="open"/>.</summary>
    public CreateReply(in EntryReply entry, in OpenReply open)
    {
        Entry = entry;
        Open = open;
    }
}

/// <summary>The answer to STATFS.</summary>
public struct StatFsReply
{
    /// <summary>
    /// Total, free, and free-for-unprivileged blocks (in <see cref="FragmentSize"/> units); total and free inodes.
    /// </summary>
    public ulong Blocks, BlocksFree, BlocksAvailable, Files, FilesFree;
    /// <summary>Preferred I/O block size and fragment size in bytes; the longest name in bytes.</summary>
    public uint BlockSize, NameMax, FragmentSize;
}

/// <summary>A POSIX record lock (F_RDLCK 0, F_WRLCK 1, F_UNLCK 2); <see cref="End"/> is inclusive.</summary>
public struct FileLock
{
    /// <summary>The lock types of fcntl(2): F_RDLCK, F_WRLCK and F_UNLCK.</summary>
    public const int ReadLock = 0, WriteLock = 1, Unlock = 2;
    /// <summary>First byte of the locked range.</summary>
    public ulong Start;
    /// <summary>
    /// Last byte of the locked range (inclusive; <see cref="long.MaxValue"/> for "to the end of the file").
    /// </summary>
    public ulong End;
    /// <summary><see cref="ReadLock"/>, <see cref="WriteLock"/> or <see cref="Unlock"/>.</summary>
    public int Type;
    /// <summary>The process holding the lock, as GETLK reports it.</summary>
    public int Pid;

    /// <summary>
    /// A lock of <paramref name="type"/> on bytes <paramref name="start"/> to <paramref name="end"/> (inclusive), held
    /// by <paramref name="pid"/>.
    /// </summary>
    public FileLock(ulong start, ulong end, int type, int pid)
    {
        Start = start;
        End = end;
        Type = type;
        Pid = pid;
    }
}

/// <summary>The answer to IOCTL: ioctl(2)'s return value and how many bytes of the output buffer are valid.</summary>
public readonly record struct IoctlReply(int Result, int OutLength);

/// <summary>Values of a SETATTR request; <see cref="Valid"/> says which are set.</summary>
public struct SetAttrRequest
{
    /// <summary>Which of the fields below the request sets; the others hold nothing meaningful.</summary>
    public SetAttrFields Valid;
    /// <summary>
    /// The open file the change came through (ftruncate, fchmod...), when <see cref="SetAttrFields.Fh"/> is set.
    /// </summary>
    public FileHandle? Handle;
    /// <summary>The new size in bytes (truncate).</summary>
    public long Size;
    /// <summary>The new permission bits (chmod); the file type bits are the node's own.</summary>
    public uint Mode;
    /// <summary>The new owner (chown).</summary>
    public uint Uid;
    /// <summary>The new group (chown).</summary>
    public uint Gid;
    /// <summary>The new access time; with <see cref="SetAttrFields.AtimeNow"/> use the current time instead.</summary>
    public TimeSpec Atime;
    /// <summary>
    /// The new modification time; with <see cref="SetAttrFields.MtimeNow"/> use the current time instead.
    /// </summary>
    public TimeSpec Mtime;
    /// <summary>The new change time.</summary>
    public TimeSpec Ctime;
    /// <summary>
    /// The lock owner of the file descriptor that truncates, with <see cref="SetAttrFields.LockOwner"/>.
    /// </summary>
    public ulong LockOwner;

    /// <summary>True when the request sets any of <paramref name="flag"/>.</summary>
    public readonly bool Has(SetAttrFields flag) => (Valid & flag) != 0;
}
