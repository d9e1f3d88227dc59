using System.Text;
using DirectFuse.Cuse;
using DirectFuse.Devices;
using DirectFuse.Examples.Loopback;
using DirectFuse.LowLevel;
using DirectFuse.Protocol;
using Microsoft.Extensions.Logging;

namespace DirectFuse.Tests.Protocol;

/// <summary>
/// Names and lengths no kernel sends: each gets its errno from the request reader, is logged as one warning
/// line without a stack trace, and never reaches the file system.
/// </summary>
public sealed class MalformedRequestTests
{
    /// <summary>Records every name that reaches it; answers EROFS so nothing is ever made.</summary>
    private sealed class RecordingFileSystem : LowLevelFileSystem
    {
        private readonly Lock _lock = new();
        private readonly List<string> _calls = [];

        public IReadOnlyList<string> Calls { get { lock (_lock) return [.. _calls]; } }

        private Result<EntryReply> Entry(string op, params FileName[] names)
        {
            Record(op, names);
            return Errno.EROFS;
        }

        private Errno Record(string op, params FileName[] names)
        {
            lock (_lock) _calls.Add(op + ":" + string.Join("|", names.Select(n => n.ToString())));
            return Errno.EROFS;
        }

        public override ValueTask<Result<EntryReply>> LookupAsync(FuseContext context, NodeId parent, FileName name, CancellationToken cancellationToken) => new(Entry("lookup", name));
        public override ValueTask<Result<EntryReply>> MkNodAsync(FuseContext context, NodeId parent, FileName name, uint mode, uint rdev, CancellationToken cancellationToken) => new(Entry("mknod", name));
        public override ValueTask<Result<EntryReply>> MkDirAsync(FuseContext context, NodeId parent, FileName name, uint mode, CancellationToken cancellationToken) => new(Entry("mkdir", name));
        public override ValueTask<Result<EntryReply>> SymLinkAsync(FuseContext context, NodeId parent, FileName name, FileName target, CancellationToken cancellationToken) => new(Entry("symlink", name, target));
        public override ValueTask<Result<EntryReply>> LinkAsync(FuseContext context, NodeId node, NodeId newParent, FileName newName, CancellationToken cancellationToken) => new(Entry("link", newName));
        public override ValueTask<Errno> UnlinkAsync(FuseContext context, NodeId parent, FileName name, CancellationToken cancellationToken) => new(Record("unlink", name));
        public override ValueTask<Errno> RmDirAsync(FuseContext context, NodeId parent, FileName name, CancellationToken cancellationToken) => new(Record("rmdir", name));
        public override ValueTask<Errno> RenameAsync(FuseContext context, NodeId parent, FileName name, NodeId newParent, FileName newName, RenameFlags flags, CancellationToken cancellationToken) => new(Record("rename", name, newName));
        public override ValueTask<Errno> SetXattrAsync(FuseContext context, NodeId node, FileName name, ReadOnlyMemory<byte> value, int flags, CancellationToken cancellationToken) => new(Record("setxattr", name));
        public override ValueTask<Result<CreateReply>> CreateAsync(FuseContext context, NodeId parent, FileName name, uint mode, int flags, CancellationToken cancellationToken)
        {
            Record("create", name);
            return new(Errno.EROFS);
        }

        public override ValueTask<Result<int>> ReadAsync(FuseContext context, NodeId node, FileHandle handle, long offset, Memory<byte> buffer, CancellationToken cancellationToken)
        {
            Record("read");
            return new(0);
        }

        public override ValueTask<Result<int>> WriteAsync(FuseContext context, NodeId node, FileHandle handle, long offset, ReadOnlyMemory<byte> data, WriteFlags flags, CancellationToken cancellationToken)
        {
            Record("write");
            return new(data.Length);
        }
    }

    private const int EINVAL = -22, ENAMETOOLONG = -36, ERANGE = -34;
    private static readonly string LongName = new('n', 256);

    /// <summary>Bad names, and the errno each gets as a created, removed or renamed name.</summary>
    public static TheoryData<string, int> BadEntryNames => new()
    {
        { "", EINVAL },
        { ".", EINVAL },
        { "..", EINVAL },
        { "a/b", EINVAL },
        { "../escaped", EINVAL },
        { "/", EINVAL },
        { LongName, ENAMETOOLONG },
    };

    /// <summary>Every opcode that creates, removes or renames a name, with its arguments around the name.</summary>
    private static IEnumerable<(FuseOpcode Opcode, byte[] Args)> NameRequests(string name)
    {
        byte[] n = Bytes.Name(name);
        yield return (FuseOpcode.MkNod, Bytes.Join(Bytes.Of(new FuseMkNodIn { Mode = StatMode.Regular | 0x1a4 }), n));
        yield return (FuseOpcode.MkDir, Bytes.Join(Bytes.Of(new FuseMkDirIn { Mode = 0x1ed }), n));
        yield return (FuseOpcode.Create, Bytes.Join(Bytes.Of(new FuseCreateIn { Mode = StatMode.Regular | 0x1a4, Flags = 0x41 }), n));
        yield return (FuseOpcode.SymLink, Bytes.Concat(n, Bytes.Name("target")));
        yield return (FuseOpcode.Link, Bytes.Join(Bytes.Of(new FuseLinkIn { OldNodeId = 1 }), n));
        yield return (FuseOpcode.Unlink, n);
        yield return (FuseOpcode.RmDir, n);
        // RENAME: both the old and the new name are checked.
        yield return (FuseOpcode.Rename, Bytes.Concat(Bytes.Of(new FuseRenameIn { NewDir = 1 }), n, Bytes.Name("ok")));
        yield return (FuseOpcode.Rename, Bytes.Concat(Bytes.Of(new FuseRenameIn { NewDir = 1 }), Bytes.Name("ok"), n));
        yield return (FuseOpcode.Rename2, Bytes.Concat(Bytes.Of(new FuseRename2In { NewDir = 1 }), Bytes.Name("ok"), n));
    }

    [Theory, MemberData(nameof(BadEntryNames))]
    public void A_bad_new_or_removed_name_gets_its_errno_and_never_reaches_the_file_system(string name, int errno)
    {
        var fs = new RecordingFileSystem();
        var logger = new CapturingLogger();
        using var k = FakeKernel.StartInitialized(fs, logger: logger);
        int count = 0;
        foreach (var (opcode, args) in NameRequests(name))
        {
            var m = k.Call(opcode, 1, args);
            Assert.True(errno == m.Error, $"{opcode} of '{name}': expected {errno}, got {m.Error}");
            count++;
        }
        Assert.Empty(fs.Calls);
        AssertOneWarningEach(logger, count);
    }

    [Fact]
    public void Lookup_takes_dot_and_dotdot_but_no_slash_empty_or_overlong_name()
    {
        var fs = new RecordingFileSystem();
        using var k = FakeKernel.StartInitialized(fs);
        Assert.Equal(-30, k.Call(FuseOpcode.Lookup, 1, Bytes.Name(".")).Error);
        Assert.Equal(-30, k.Call(FuseOpcode.Lookup, 1, Bytes.Name("..")).Error);
        Assert.Equal(EINVAL, k.Call(FuseOpcode.Lookup, 1, Bytes.Name("../x")).Error);
        Assert.Equal(EINVAL, k.Call(FuseOpcode.Lookup, 1, Bytes.Name("")).Error);
        Assert.Equal(ENAMETOOLONG, k.Call(FuseOpcode.Lookup, 1, Bytes.Name(LongName)).Error);
        Assert.Equal(["lookup:.", "lookup:.."], fs.Calls);
    }

    [Fact]
    public void A_name_of_exactly_255_bytes_reaches_the_file_system()
    {
        var fs = new RecordingFileSystem();
        using var k = FakeKernel.StartInitialized(fs);
        string name = new('x', 255); // NAME_MAX
        Assert.Equal(-30, k.Call(FuseOpcode.MkDir, 1, Bytes.Join(Bytes.Of(new FuseMkDirIn { Mode = 0x1ed }), Bytes.Name(name))).Error);
        Assert.Equal(["mkdir:" + name], fs.Calls);
    }

    [Fact]
    public void Symlink_target_may_hold_slashes_but_not_be_empty_or_longer_than_PATH_MAX()
    {
        var fs = new RecordingFileSystem();
        using var k = FakeKernel.StartInitialized(fs);
        Assert.Equal(-30, k.Call(FuseOpcode.SymLink, 1, Bytes.Concat(Bytes.Name("l"), Bytes.Name("../a/b"))).Error);
        Assert.Equal(EINVAL, k.Call(FuseOpcode.SymLink, 1, Bytes.Concat(Bytes.Name("l"), Bytes.Name(""))).Error);
        Assert.Equal(ENAMETOOLONG, k.Call(FuseOpcode.SymLink, 1, Bytes.Concat(Bytes.Name("l"), Bytes.Name(new string('t', 4096)))).Error);
        Assert.Equal(["symlink:l|../a/b"], fs.Calls);
    }

    [Fact]
    public void Lengths_near_two_to_the_31_and_offsets_past_two_to_the_63_are_malformed_not_handler_failures()
    {
        var fs = new RecordingFileSystem();
        var logger = new CapturingLogger();
        using var k = FakeKernel.StartInitialized(fs, logger: logger);
        byte[] data = new byte[16];
        // write_size wraps start + length in int: it must not pass the bounds check.
        Assert.Equal(EINVAL, k.Call(FuseOpcode.Write, 1, Bytes.Join(Bytes.Of(new FuseWriteIn { Fh = 1, WriteSize = 0x7FFF_FFF0 }), data)).Error);
        Assert.Equal(EINVAL, k.Call(FuseOpcode.Write, 1, Bytes.Join(Bytes.Of(new FuseWriteIn { Fh = 1, WriteSize = uint.MaxValue }), data)).Error);
        Assert.Equal(EINVAL, k.Call(FuseOpcode.Write, 1, Bytes.Join(Bytes.Of(new FuseWriteIn { Fh = 1, WriteSize = 16, Offset = 1UL << 63 }), data)).Error);
        Assert.Equal(EINVAL, k.Call(FuseOpcode.Read, 1, Bytes.Of(new FuseReadIn { Fh = 1, ReadSize = 16, Offset = ulong.MaxValue })).Error);
        var setxattr = Bytes.Concat(Bytes.Of(new FuseSetXattrIn { ValueSize = 0xFFFF_FFF8 }), Bytes.Name("user.a"), data);
        Assert.Equal(EINVAL, k.Call(FuseOpcode.SetXattr, 1, setxattr).Error);
        Assert.Equal(ERANGE, k.Call(FuseOpcode.SetXattr, 1, Bytes.Concat(Bytes.Of(new FuseSetXattrIn { ValueSize = 0 }), Bytes.Name(""))).Error);
        Assert.Equal(EINVAL, k.Call(FuseOpcode.Ioctl, 1, Bytes.Join(Bytes.Of(new FuseIoctlIn { Fh = 1, InSize = 0x8000_0000 }), data)).Error);
        Assert.Equal(EINVAL, k.Call(FuseOpcode.SetAttr, 1, new FuseSetAttrIn { Valid = (uint)SetAttrFields.Size, FileSize = 1UL << 63 }).Error);
        Assert.Empty(fs.Calls);
        AssertOneWarningEach(logger, 8);
        // The same requests with honest lengths reach the file system.
        Assert.Equal(0, k.Call(FuseOpcode.Write, 1, Bytes.Join(Bytes.Of(new FuseWriteIn { Fh = 1, WriteSize = 16, Offset = long.MaxValue }), data)).Error);
        Assert.Equal(["write:"], fs.Calls);
    }

    /// <summary>A device that answers every ioctl with an empty result.</summary>
    private sealed class NullDevice : CharacterDevice
    {
        public override bool RetryIoctlsByCommandNumber => false;

        public override ValueTask<Result<IoctlResult>> IoctlAsync(DeviceFile file, DeviceIoctl request, CancellationToken cancellationToken) =>
            new(IoctlResult.Done(0, 0));
    }

    [Fact]
    public void A_cuse_ioctl_out_size_of_two_to_the_31_or_more_is_bounded_by_the_reply_buffer()
    {
        var logger = new CapturingLogger();
        using var k = FakeKernel.ForCuse(new NullDevice(), new CuseDeviceInfo("null"), logger: logger);
        Assert.Equal(0, k.Call(FuseOpcode.CuseInit, 0, Bytes.Of(new CuseInitIn { Major = 7, Minor = 45, Flags = 1 })).Error);
        var open = k.Call(FuseOpcode.Open, 0, new FuseOpenIn { Flags = 2 });
        Assert.Equal(0, open.Error);
        ulong fh = open.Read<FuseOpenOut>().Fh;
        foreach (uint outSize in new[] { 0x8000_0000u, uint.MaxValue, 0x7FFF_FFFFu })
        {
            var m = k.Call(FuseOpcode.Ioctl, 0, new FuseIoctlIn { Fh = fh, Flags = (uint)IoctlFlags.Unrestricted, Cmd = 1, OutSize = outSize });
            Assert.Equal(0, m.Error);
            Assert.Equal(FuseIoctlOut.Size, m.Payload.Length);
        }
        Assert.DoesNotContain(logger.Entries, e => e.Level >= LogLevel.Warning);
    }

    [Fact]
    public void Loopback_never_creates_outside_its_source_for_dotdot_escaped()
    {
        string parent = Directory.CreateTempSubdirectory("df-escape-").FullName;
        try
        {
            string source = Directory.CreateDirectory(Path.Combine(parent, "src")).FullName;
            var fs = new LoopbackFileSystem(source, new LoopbackOptions { UsePassthrough = false });
            using (var k = FakeKernel.StartInitialized(fs))
            {
                byte[] name = Bytes.Name("../escaped");
                Assert.Equal(EINVAL, k.Call(FuseOpcode.Create, 1, Bytes.Join(Bytes.Of(new FuseCreateIn { Mode = StatMode.Regular | 0x1a4, Flags = 0x41 }), name)).Error);
                Assert.Equal(EINVAL, k.Call(FuseOpcode.MkDir, 1, Bytes.Join(Bytes.Of(new FuseMkDirIn { Mode = 0x1ed }), name)).Error);
                Assert.Equal(EINVAL, k.Call(FuseOpcode.MkNod, 1, Bytes.Join(Bytes.Of(new FuseMkNodIn { Mode = StatMode.Regular | 0x1a4 }), name)).Error);
                Assert.Equal(EINVAL, k.Call(FuseOpcode.SymLink, 1, Bytes.Concat(name, Bytes.Name("x"))).Error);
            }
            // Past the engine too (a file system called directly, or a bug in the reader): the loopback refuses.
            var context = new FuseContext(1, 0, 0, 0);
            var escaped = FileName.FromString("../escaped");
            Assert.Equal(Errno.EINVAL, Assert.Throws<FuseException>(() => fs.CreateAsync(context, new NodeId(1), escaped, StatMode.Regular | 0x1a4, 0x41, default)).Errno);
            Assert.Equal(Errno.EINVAL, Assert.Throws<FuseException>(() => fs.MkDirAsync(context, new NodeId(1), escaped, 0x1ed, default)).Errno);
            Assert.Equal(Errno.EINVAL, Assert.Throws<FuseException>(() => fs.RenameAsync(context, new NodeId(1), FileName.FromString("a"), new NodeId(1), escaped, RenameFlags.None, default)).Errno);
            Assert.Equal(["src"], Directory.GetFileSystemEntries(parent).Select(Path.GetFileName));
            Assert.Empty(Directory.GetFileSystemEntries(source));
        }
        finally
        {
            Directory.Delete(parent, recursive: true);
        }
    }

    private static void AssertOneWarningEach(CapturingLogger logger, int count)
    {
        var entries = logger.Entries.Where(e => e.Level >= LogLevel.Warning).ToList();
        Assert.True(entries.Count == count, $"expected {count} warnings, got:\n{string.Join("\n", entries.Select(e => e.Message))}");
        Assert.All(entries, e => Assert.Equal(LogLevel.Warning, e.Level));
        Assert.All(entries, e => Assert.Null(e.Exception));
    }
}
