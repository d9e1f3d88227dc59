using DirectFuse.Protocol;

namespace DirectFuse.LowLevel;

/// <summary>
/// The answer to LOOKUP, MKNOD, MKDIR, SYMLINK, LINK and (with an open file) CREATE: a node the kernel now
/// holds one more lookup reference on. <see cref="EntryTimeout"/> is how long the name may be cached,
/// <see cref="AttrTimeout"/> how long the attributes may be. A negative entry (NodeId 0) caches "no such name".
/// </summary>
public struct EntryReply
{
    public NodeId NodeId;
    public ulong Generation;
    public FileAttr Attr;
    public TimeSpan EntryTimeout;
    public TimeSpan AttrTimeout;

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
    public FileAttr Attr;
    public TimeSpan Timeout;

    public AttrReply(in FileAttr attr, TimeSpan timeout)
    {
        Attr = attr;
        Timeout = timeout;
    }
}

/// <summary>The answer to OPEN and OPENDIR.</summary>
public struct OpenReply
{
    public FileHandle Handle;
    public OpenReplyFlags Flags;
    /// <summary>With <see cref="OpenReplyFlags.Passthrough"/>: the backing file's id (see <see cref="Session.BackingFile"/>).</summary>
    public int BackingId;

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
    public EntryReply Entry;
    public OpenReply Open;

    public CreateReply(in EntryReply entry, in OpenReply open)
    {
        Entry = entry;
        Open = open;
    }
}

/// <summary>The answer to STATFS.</summary>
public struct StatFsReply
{
    public ulong Blocks, BlocksFree, BlocksAvailable, Files, FilesFree;
    public uint BlockSize, NameMax, FragmentSize;
}

/// <summary>A POSIX record lock (F_RDLCK 0, F_WRLCK 1, F_UNLCK 2); <see cref="End"/> is inclusive.</summary>
public struct FileLock
{
    public const int ReadLock = 0, WriteLock = 1, Unlock = 2;
    public ulong Start;
    public ulong End;
    public int Type;
    public int Pid;

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
    public SetAttrFields Valid;
    public FileHandle? Handle;
    public long Size;
    public uint Mode;
    public uint Uid;
    public uint Gid;
    public TimeSpec Atime;
    public TimeSpec Mtime;
    public TimeSpec Ctime;
    public ulong LockOwner;

    public readonly bool Has(SetAttrFields flag) => (Valid & flag) != 0;
}
