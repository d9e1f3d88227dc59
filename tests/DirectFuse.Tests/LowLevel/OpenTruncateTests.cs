using DirectFuse.LowLevel;
using DirectFuse.Protocol;
using DirectFuse.Tests.Infrastructure;

namespace DirectFuse.Tests.LowLevel;

/// <summary>
/// open(O_TRUNC) on a real mount: a file system that ignores open flags still gets the file emptied (the kernel
/// sends SETATTR size 0), and one that declares <see cref="LowLevelFileSystem.TruncatesOnOpen"/> sees
/// <see cref="OpenFlags.Truncate"/> in OPEN instead.
/// </summary>
public sealed class OpenTruncateTests
{
    [Fact]
    public void A_file_system_that_ignores_open_flags_is_truncated_by_setattr()
    {
        var fs = new OneFile("first line\nrest of it\n", truncatesOnOpen: false);
        using var m = TempMount.Create(fs);
        Run.Shell("echo x > f", m.Path).EnsureSuccess("echo x > f");
        Assert.Equal("x\n", File.ReadAllText(m["f"]));
        Assert.Contains(0L, fs.SizesSet);
        Assert.DoesNotContain(fs.OpenFlagsSeen, f => (f & OpenFlags.Truncate) != 0);
    }

    [Fact]
    public void A_file_system_that_truncates_on_open_gets_O_TRUNC_in_OPEN()
    {
        var fs = new OneFile("first line\nrest of it\n", truncatesOnOpen: true);
        using var m = TempMount.Create(fs);
        Run.Shell("echo x > f", m.Path).EnsureSuccess("echo x > f");
        Assert.Equal("x\n", File.ReadAllText(m["f"]));
        Assert.Contains(fs.OpenFlagsSeen, f => (f & OpenFlags.Truncate) != 0 && (f & OpenFlags.AccessModeMask) == OpenFlags.WriteOnly);
        Assert.Empty(fs.SizesSet);
    }

    /// <summary>
    /// A root directory with one regular file "f", the naive way: OpenAsync records the flags and does nothing
    /// else, unless it says it truncates on open.
    /// </summary>
    private sealed class OneFile(string text, bool truncatesOnOpen) : LowLevelFileSystem
    {
        private readonly Lock _lock = new();
        private byte[] _data = System.Text.Encoding.UTF8.GetBytes(text);

        public override bool TruncatesOnOpen => truncatesOnOpen;
        public System.Collections.Concurrent.ConcurrentQueue<OpenFlags> OpenFlagsSeen { get; } = new();
        public System.Collections.Concurrent.ConcurrentQueue<long> SizesSet { get; } = new();

        private FileAttr Attr(ulong ino)
        {
            lock (_lock)
                return ino == 1
                    ? new FileAttr { Ino = 1, Mode = StatMode.Directory | 0b111_101_101, NLink = 2 }
                    : new FileAttr { Ino = 2, Mode = StatMode.Regular | 0b110_110_110, NLink = 1, Size = _data.Length };
        }

        public override ValueTask<Result<EntryReply>> LookupAsync(FuseContext context, NodeId parent, FileName name, CancellationToken cancellationToken) =>
            Done<EntryReply>(parent.IsRoot && name.Equals("f") ? new EntryReply(new NodeId(2), Attr(2), TimeSpan.Zero, TimeSpan.Zero) : Errno.ENOENT);

        public override ValueTask<Result<AttrReply>> GetAttrAsync(FuseContext context, NodeId node, FileHandle? handle, CancellationToken cancellationToken) =>
            Done<AttrReply>(new AttrReply(Attr(node.Value), TimeSpan.Zero));

        public override ValueTask<Result<AttrReply>> SetAttrAsync(FuseContext context, NodeId node, SetAttrRequest request, CancellationToken cancellationToken)
        {
            if (request.Has(SetAttrFields.Size))
            {
                SizesSet.Enqueue(request.Size);
                lock (_lock) Array.Resize(ref _data, (int)request.Size);
            }
            return GetAttrAsync(context, node, request.Handle, cancellationToken);
        }

        public override ValueTask<Result<OpenReply>> OpenAsync(FuseContext context, NodeId node, int flags, CancellationToken cancellationToken)
        {
            OpenFlagsSeen.Enqueue((OpenFlags)flags);
            if (truncatesOnOpen && ((OpenFlags)flags & OpenFlags.Truncate) != 0)
                lock (_lock) _data = [];
            return Done<OpenReply>(new OpenReply(FileHandle.None));
        }

        public override ValueTask<Result<int>> ReadAsync(FuseContext context, NodeId node, FileHandle handle, long offset, Memory<byte> buffer, CancellationToken cancellationToken)
        {
            lock (_lock)
            {
                var rest = _data.AsSpan((int)Math.Min(offset, _data.Length));
                int n = Math.Min(rest.Length, buffer.Length);
                rest[..n].CopyTo(buffer.Span);
                return Done<int>(n);
            }
        }

        public override ValueTask<Result<int>> WriteAsync(FuseContext context, NodeId node, FileHandle handle, long offset, ReadOnlyMemory<byte> data, WriteFlags flags, CancellationToken cancellationToken)
        {
            lock (_lock)
            {
                if (offset + data.Length > _data.Length) Array.Resize(ref _data, (int)offset + data.Length);
                data.Span.CopyTo(_data.AsSpan((int)offset));
                return Done<int>(data.Length);
            }
        }
    }
}
