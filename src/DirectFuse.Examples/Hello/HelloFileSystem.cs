using DirectFuse.LowLevel;

namespace DirectFuse.Examples.Hello;

// The README's low-level sample, compiled here so that it cannot drift from the API.
// Mount it with: using var session = FuseSession.Mount(new HelloFileSystem(), "/tmp/hello");

/// <summary>A read-only file system with one file, <c>/hello</c>, written against the inode API.</summary>
public sealed class HelloFileSystem : LowLevelFileSystem
{
    static readonly byte[] Text = "hello\n"u8.ToArray();
    static FileAttr Attr(ulong ino) => ino == 1
        ? new FileAttr { Ino = 1, Mode = StatMode.Directory | 0b111_101_101, NLink = 2 }
        : new FileAttr { Ino = 2, Mode = StatMode.Regular | 0b110_100_100, NLink = 1, Size = Text.Length };

    public override ValueTask<Result<EntryReply>> LookupAsync(FuseContext c, NodeId parent, FileName name, CancellationToken ct) =>
        Done<EntryReply>(parent.IsRoot && name.Equals("hello")
            ? new EntryReply(new NodeId(2), Attr(2), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1))
            : Errno.ENOENT);

    public override ValueTask<Result<AttrReply>> GetAttrAsync(FuseContext c, NodeId node, FileHandle? fh, CancellationToken ct) =>
        Done<AttrReply>(new AttrReply(Attr(node.Value), TimeSpan.FromSeconds(1)));

    public override ValueTask<Result<int>> ReadAsync(FuseContext c, NodeId node, FileHandle fh, long offset, Memory<byte> buffer, CancellationToken ct)
    {
        var rest = Text.AsSpan((int)Math.Min(offset, Text.Length));
        int n = Math.Min(rest.Length, buffer.Length);
        rest[..n].CopyTo(buffer.Span);          // the buffer is the reply itself: no copy after this
        return Done<int>(n);
    }

    public override ValueTask<Errno> ReadDirAsync(FuseContext c, NodeId node, FileHandle fh, long offset, DirectoryBuffer buffer, CancellationToken ct)
    {
        if (offset < 1) buffer.TryAdd("hello", 2, StatMode.Regular, nextOffset: 1);
        return Done(Errno.Ok);
    }
}
