using System.Text;
using DirectFuse.LowLevel;
using DirectFuse.Protocol;

namespace DirectFuse.Tests.Session;

/// <summary>
/// A small file system with one file per failure mode: "ok" (plain), "slow" (read waits until interrupted),
/// "broken" (lookup throws), "denied" (lookup throws FuseException(EACCES)).
/// </summary>
internal sealed class ProbeFileSystem : LowLevelFileSystem
{
    public static readonly byte[] Content = Encoding.ASCII.GetBytes("probe\n");
    private static readonly string[] Names = ["ok", "slow", "broken", "denied"];

    public int InterruptedReads;
    public readonly TaskCompletionSource SlowReadStarted = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private static FileAttr AttrOf(ulong ino) => ino == 1
        ? new FileAttr { Ino = 1, Mode = StatMode.Directory | 0x1ED, NLink = 2 }
        : new FileAttr { Ino = ino, Mode = StatMode.Regular | 0x1A4, NLink = 1, Size = Content.Length };

    public override ValueTask<Result<EntryReply>> LookupAsync(FuseContext context, NodeId parent, FileName name, CancellationToken cancellationToken)
    {
        string n = name.ToString();
        if (n == "broken") throw new InvalidOperationException("deliberate handler failure");
        if (n == "denied") throw new FuseException(Errno.EACCES);
        if (n == "bad-errno") return Done<EntryReply>(new Errno(600)); // beyond what the kernel takes (1..511)
        int index = Array.IndexOf(Names, n);
        if (!parent.IsRoot || index < 0) return Done<EntryReply>(Errno.ENOENT);
        ulong ino = (ulong)index + 2;
        return Done<EntryReply>(new EntryReply(new NodeId(ino), AttrOf(ino), TimeSpan.Zero, TimeSpan.Zero));
    }

    public override ValueTask<Result<AttrReply>> GetAttrAsync(FuseContext context, NodeId node, FileHandle? handle, CancellationToken cancellationToken) =>
        Done<AttrReply>(new AttrReply(AttrOf(node.Value), TimeSpan.Zero));

    // Direct I/O so that reads are synchronous requests a signal can interrupt (page-cache reads are not).
    public override ValueTask<Result<OpenReply>> OpenAsync(FuseContext context, NodeId node, int flags, CancellationToken cancellationToken) =>
        Done<OpenReply>(new OpenReply(new FileHandle(node.Value), OpenReplyFlags.DirectIo));

    public override async ValueTask<Result<int>> ReadAsync(FuseContext context, NodeId node, FileHandle handle, long offset, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        if (node.Value == 3)
        {
            SlowReadStarted.TrySetResult();
            try
            {
                await Task.Delay(Timeout.Infinite, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                Interlocked.Increment(ref InterruptedReads);
                throw;
            }
        }
        if (offset >= Content.Length) return 0;
        int n = Math.Min(buffer.Length, Content.Length - (int)offset);
        Content.AsSpan((int)offset, n).CopyTo(buffer.Span);
        return n;
    }

    public override ValueTask<Errno> ReadDirAsync(FuseContext context, NodeId node, FileHandle handle, long offset, DirectoryBuffer buffer, CancellationToken cancellationToken)
    {
        for (long i = offset; i < Names.Length; i++)
            if (!buffer.TryAdd(Names[i], (ulong)i + 2, StatMode.Regular, i + 1)) break;
        return Done(Errno.Ok);
    }
}
