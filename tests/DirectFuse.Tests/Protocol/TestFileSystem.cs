using DirectFuse.LowLevel;
using DirectFuse.Protocol;

namespace DirectFuse.Tests.Protocol;

/// <summary>
/// A tiny fixed file system for protocol tests: root (1) holds "hello" (2). LOOKUP names steer failure modes
/// ("throw", "throw-async", "eacces", "slow", "hang"). The hot-path handlers (lookup of "hello", getattr,
/// open, read, write, release, forget) complete synchronously and allocate nothing.
/// </summary>
internal sealed class TestFileSystem : LowLevelFileSystem
{
    public const ulong HelloNode = 2;
    public const ulong HelloGeneration = 7;
    public const ulong OpenHandle = 42;
    public static readonly byte[] HelloContent = "Hello, world!\n"u8.ToArray();
    public static readonly TimeSpan EntryTimeout = TimeSpan.FromMilliseconds(1500);
    public static readonly TimeSpan AttrTimeout = TimeSpan.FromSeconds(2);
    public static readonly byte[] XattrValue = "value!"u8.ToArray();

    /// <summary>Directory entries: name, ino, mode. Offsets are index + 1.</summary>
    public static readonly (string Name, ulong Ino, uint Mode)[] Entries =
    [
        (".", 1, StatMode.Directory | 0x1ed),
        ("..", 1, StatMode.Directory | 0x1ed),
        ("hello", HelloNode, StatMode.Regular | 0x1a4),
        ("a-much-longer-name.txt", 3, StatMode.Regular | 0x1a4),
        ("sub", 4, StatMode.Directory | 0x1ed),
    ];

    public Action<FuseConnection>? OnInit { get; set; }
    /// <summary>What <see cref="ServedLocks"/> declares (the lock handlers are not implemented: INIT tests only).</summary>
    public LockKinds Locks { get; init; }
    public override LockKinds ServedLocks => Locks;
    public bool RecordForgets { get; set; } = true;

    private readonly Lock _lock = new();
    private readonly List<(ulong Node, ulong Count)> _forgets = [];
    public long ForgetCalls;
    public FuseContext LastContext;
    public string? LastMissingName;
    public FileHandle? LastGetAttrHandle;
    public long LastWriteOffset;
    public int LastWriteLength;
    public long LastWriteSum;
    public WriteFlags LastWriteFlags;
    public long ReleaseCalls;
    public string? LastXattrName;
    public byte[]? LastXattrValue;
    public int LastXattrFlags;
    public volatile bool HangStarted;

    public IReadOnlyList<(ulong Node, ulong Count)> Forgets { get { lock (_lock) return [.. _forgets]; } }

    public static FileAttr AttrOf(ulong node) => node switch
    {
        1 => new FileAttr
        {
            Ino = 1, Mode = StatMode.Directory | 0x1ed, NLink = 2, Size = 4096, Blocks = 8, BlkSize = 4096,
            Atime = new TimeSpec(1_700_000_000, 1), Mtime = new TimeSpec(1_700_000_001, 2), Ctime = new TimeSpec(1_700_000_002, 3),
        },
        HelloNode => new FileAttr
        {
            Ino = HelloNode, Mode = StatMode.Regular | 0x1a4, NLink = 1, Size = HelloContent.Length, Blocks = 1,
            Uid = 1000, Gid = 1001, Rdev = 0, BlkSize = 4096,
            Atime = new TimeSpec(1_600_000_000, 123_456_789), Mtime = new TimeSpec(1_600_000_100, 999_999_999), Ctime = new TimeSpec(1_600_000_200, 0),
        },
        _ => new FileAttr { Ino = node, Mode = StatMode.Regular | 0x1a4, NLink = 1 },
    };

    public static EntryReply HelloEntry => new(new NodeId(HelloNode), AttrOf(HelloNode), EntryTimeout, AttrTimeout) { Generation = HelloGeneration };

    public override void Init(FuseConnection connection) => OnInit?.Invoke(connection);

    public override ValueTask<Result<EntryReply>> LookupAsync(FuseContext context, NodeId parent, FileName name, CancellationToken cancellationToken)
    {
        LastContext = context;
        var n = name.Span;
        if (parent.IsRoot && n.SequenceEqual("hello"u8)) return new(HelloEntry);
        if (n.SequenceEqual("throw"u8)) throw new InvalidOperationException("handler bug");
        if (n.SequenceEqual("throw-async"u8)) return ThrowLater();
        if (n.SequenceEqual("eacces"u8)) throw new FuseException(Errno.EACCES);
        if (n.SequenceEqual("slow"u8)) return Slow();
        if (n.SequenceEqual("hang"u8)) return Hang(cancellationToken);
        LastMissingName = name.ToString();
        return new(Errno.ENOENT);
    }

    private static async ValueTask<Result<EntryReply>> ThrowLater()
    {
        await Task.Yield();
        throw new InvalidOperationException("async handler bug");
    }

    private static async ValueTask<Result<EntryReply>> Slow()
    {
        await Task.Delay(30).ConfigureAwait(false);
        return HelloEntry;
    }

    private async ValueTask<Result<EntryReply>> Hang(CancellationToken cancellationToken)
    {
        HangStarted = true;
        await Task.Delay(Timeout.Infinite, cancellationToken).ConfigureAwait(false);
        return HelloEntry;
    }

    public override void Forget(NodeId node, ulong count)
    {
        Interlocked.Increment(ref ForgetCalls);
        if (RecordForgets) lock (_lock) _forgets.Add((node.Value, count));
    }

    public override ValueTask<Result<AttrReply>> GetAttrAsync(FuseContext context, NodeId node, FileHandle? handle, CancellationToken cancellationToken)
    {
        LastGetAttrHandle = handle;
        if (node.Value is not (1 or HelloNode)) return new(Errno.ENOENT);
        return new(new AttrReply(AttrOf(node.Value), AttrTimeout));
    }

    public override ValueTask<Result<OpenReply>> OpenAsync(FuseContext context, NodeId node, int flags, CancellationToken cancellationToken)
    {
        LastContext = context;
        return new(new OpenReply(new FileHandle(OpenHandle), OpenReplyFlags.KeepCache));
    }

    public override ValueTask<Result<int>> ReadAsync(FuseContext context, NodeId node, FileHandle handle, long offset, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        if (node.Value != HelloNode) return new(Errno.EISDIR);
        if (offset >= HelloContent.Length) return new(0);
        int n = Math.Min(buffer.Length, HelloContent.Length - (int)offset);
        HelloContent.AsSpan((int)offset, n).CopyTo(buffer.Span);
        return new(n);
    }

    public override ValueTask<Result<int>> WriteAsync(FuseContext context, NodeId node, FileHandle handle, long offset, ReadOnlyMemory<byte> data, WriteFlags flags, CancellationToken cancellationToken)
    {
        long sum = 0;
        foreach (byte b in data.Span) sum += b;
        LastWriteOffset = offset;
        LastWriteLength = data.Length;
        LastWriteSum = sum;
        LastWriteFlags = flags;
        return new(data.Length);
    }

    public override ValueTask<Errno> ReleaseAsync(FuseContext context, NodeId node, FileHandle handle, int flags, ReleaseFlags releaseFlags, ulong lockOwner, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref ReleaseCalls);
        return new(Errno.Ok);
    }

    public override ValueTask<Errno> ReadDirAsync(FuseContext context, NodeId node, FileHandle handle, long offset, DirectoryBuffer buffer, CancellationToken cancellationToken)
    {
        for (long i = offset; i < Entries.Length; i++)
        {
            var (name, ino, mode) = Entries[i];
            bool added = buffer.IsPlus && ino != 1
                ? buffer.TryAddPlus(name, new EntryReply(new NodeId(ino), AttrOf(ino), EntryTimeout, AttrTimeout), i + 1)
                : buffer.TryAdd(name, ino, mode, i + 1);
            if (!added) break;
        }
        return new(Errno.Ok);
    }

    public override ValueTask<Result<int>> GetXattrAsync(FuseContext context, NodeId node, FileName name, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        if (!name.Span.SequenceEqual("user.test"u8)) return new(Errno.ENODATA);
        if (buffer.IsEmpty) return new(XattrValue.Length);
        if (buffer.Length < XattrValue.Length) return new(Errno.ERANGE);
        XattrValue.CopyTo(buffer.Span);
        return new(XattrValue.Length);
    }

    public override ValueTask<Errno> SetXattrAsync(FuseContext context, NodeId node, FileName name, ReadOnlyMemory<byte> value, int flags, CancellationToken cancellationToken)
    {
        LastXattrName = name.ToString();
        LastXattrValue = value.ToArray();
        LastXattrFlags = flags;
        return new(Errno.Ok);
    }
}
