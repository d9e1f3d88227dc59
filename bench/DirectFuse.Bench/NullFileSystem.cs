using DirectFuse.LowLevel;
using DirectFuse.Protocol;

namespace DirectFuse.Bench;

/// <summary>
/// The smallest file system that answers the hot requests: root (1) holds "f" (2), 1 MiB of zeros. Its
/// handlers complete synchronously and allocate nothing, so whatever a request allocates is the library's.
/// </summary>
internal sealed class NullFileSystem : LowLevelFileSystem
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(1);
    private static readonly FileAttr Root = new() { Ino = 1, Mode = StatMode.Directory | 0x1ed, NLink = 2, Size = 4096, Blocks = 8, BlkSize = 4096 };
    private static readonly FileAttr File = new() { Ino = 2, Mode = StatMode.Regular | 0x1a4, NLink = 1, Size = 1 << 20, Blocks = 2048, BlkSize = 4096 };

    public override ValueTask<Result<EntryReply>> LookupAsync(FuseContext context, NodeId parent, FileName name, CancellationToken cancellationToken) =>
        Done<EntryReply>(parent.IsRoot && name.Span.SequenceEqual("f"u8)
            ? new EntryReply(new NodeId(2), File, Timeout, Timeout)
            : Errno.ENOENT);

    public override ValueTask<Result<AttrReply>> GetAttrAsync(FuseContext context, NodeId node, FileHandle? handle, CancellationToken cancellationToken) =>
        Done<AttrReply>(new AttrReply(node.IsRoot ? Root : File, Timeout));

    public override ValueTask<Result<OpenReply>> OpenAsync(FuseContext context, NodeId node, int flags, CancellationToken cancellationToken) =>
        Done<OpenReply>(new OpenReply(new FileHandle(42)));

    public override ValueTask<Result<int>> ReadAsync(FuseContext context, NodeId node, FileHandle handle, long offset, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        int n = (int)Math.Clamp(File.Size - offset, 0, buffer.Length);
        buffer.Span[..n].Clear();
        return Done<int>(n);
    }

    public override ValueTask<Result<int>> WriteAsync(FuseContext context, NodeId node, FileHandle handle, long offset, ReadOnlyMemory<byte> data, WriteFlags flags, CancellationToken cancellationToken) =>
        Done<int>(data.Length);
}
