using System.Buffers.Binary;
using System.Text;
using DirectFuse.LowLevel;
using DirectFuse.Protocol;

namespace DirectFuse.Tests.Protocol;

public sealed class DispatchTests
{
    private const int EINVAL = 22;

    /// <summary>fuse_attr of "hello" as the kernel must see it.</summary>
    private static ByteWriter HelloAttr(ByteWriter w) => w
        .U64(2).U64(14).U64(1)                                 // ino, size, blocks
        .U64(1_600_000_000).U64(1_600_000_100).U64(1_600_000_200) // atime, mtime, ctime
        .U32(123_456_789).U32(999_999_999).U32(0)              // atimensec, mtimensec, ctimensec
        .U32(0x81a4).U32(1).U32(1000).U32(1001).U32(0)         // mode, nlink, uid, gid, rdev
        .U32(4096).U32(0);                                     // blksize, flags

    private static byte[] HelloEntryOut() => HelloAttr(new ByteWriter()
        .U64(2).U64(7)                 // nodeid, generation
        .U64(1).U64(2)                 // entry_valid, attr_valid
        .U32(500_000_000).U32(0)).ToArray(); // entry_valid_nsec, attr_valid_nsec

    /// <summary>Proves the worker is still serving and that nothing was answered before it: the next message must be this reply.</summary>
    private static void AssertNextIsServed(FakeKernel k)
    {
        var reply = k.Call(FuseOpcode.GetAttr, 1, Bytes.Of(new FuseGetAttrIn()));
        Assert.Equal(0, reply.Error);
        Assert.Equal(FuseAttrOut.Size, reply.Payload.Length);
    }

    [Theory]
    [InlineData(9999u)]
    [InlineData(7u)]
    [InlineData(19u)]
    [InlineData(54u)]
    public void Unknown_opcode_gets_ENOSYS(uint opcode)
    {
        using var k = FakeKernel.StartInitialized(new TestFileSystem());
        var m = k.Call((FuseOpcode)opcode, 1, new byte[16]);
        Assert.Equal(-Errno.ENOSYS.Value, m.Error);
        Assert.Empty(m.Payload);
        AssertNextIsServed(k);
    }

    [Fact]
    public void Unimplemented_and_dax_only_opcodes_get_ENOSYS()
    {
        using var k = FakeKernel.StartInitialized(new TestFileSystem());
        Assert.Equal(-Errno.ENOSYS.Value, k.Call(FuseOpcode.Fsync, 2, new FuseFsyncIn { Fh = 1 }).Error);
        Assert.Equal(-Errno.ENOSYS.Value, k.Call(FuseOpcode.Bmap, 2, new byte[16]).Error);
        Assert.Equal(-Errno.ENOSYS.Value, k.Call(FuseOpcode.SetupMapping, 2, new byte[40]).Error);
    }

    [Fact]
    public void Lookup_returns_the_entry_out_bytes_and_passes_the_caller()
    {
        var fs = new TestFileSystem();
        using var k = FakeKernel.StartInitialized(fs);

        ulong unique = k.Send(FuseOpcode.Lookup, 1, Bytes.Name("hello"), uid: 1000, gid: 1001, pid: 4242);
        var m = k.ReadReply(unique);

        Assert.Equal(0, m.Error);
        Assert.Equal((uint)(16 + 128), m.Header.Len);
        Assert.Equal(HelloEntryOut(), m.Payload);
        Assert.Equal(1000u, fs.LastContext.Uid);
        Assert.Equal(1001u, fs.LastContext.Gid);
        Assert.Equal(4242u, fs.LastContext.Pid);
        Assert.Equal(unique, fs.LastContext.Unique);
    }

    [Fact]
    public void Getattr_returns_the_attr_out_bytes_with_and_without_a_handle()
    {
        var fs = new TestFileSystem();
        using var k = FakeKernel.StartInitialized(fs);

        var m = k.Call(FuseOpcode.GetAttr, 2, new FuseGetAttrIn());
        Assert.Equal(0, m.Error);
        Assert.Equal(HelloAttr(new ByteWriter().U64(2).U32(0).U32(0)).ToArray(), m.Payload);
        Assert.Null(fs.LastGetAttrHandle);

        m = k.Call(FuseOpcode.GetAttr, 2, new FuseGetAttrIn { GetAttrFlags = FuseGetAttrIn.FlagFh, Fh = 99 });
        Assert.Equal(0, m.Error);
        Assert.Equal(99UL, fs.LastGetAttrHandle?.Value);

        // Kernels before 7.9 send GETATTR without arguments.
        m = k.Call(FuseOpcode.GetAttr, 2, ReadOnlySpan<byte>.Empty);
        Assert.Equal(0, m.Error);
        Assert.Null(fs.LastGetAttrHandle);

        Assert.Equal(-Errno.ENOENT.Value, k.Call(FuseOpcode.GetAttr, 77, new FuseGetAttrIn()).Error);
    }

    [Fact]
    public void Open_read_write_release_round_trip()
    {
        var fs = new TestFileSystem();
        using var k = FakeKernel.StartInitialized(fs);

        var open = k.Call(FuseOpcode.Open, 2, new FuseOpenIn { Flags = 2 });
        Assert.Equal(0, open.Error);
        Assert.Equal(new ByteWriter().U64(42).U32((uint)OpenReplyFlags.KeepCache).U32(0).ToArray(), open.Payload);

        var read = k.Call(FuseOpcode.Read, 2, new FuseReadIn { Fh = 42, Offset = 7, ReadSize = 100 });
        Assert.Equal(0, read.Error);
        Assert.Equal("world!\n"u8.ToArray(), read.Payload);

        var eof = k.Call(FuseOpcode.Read, 2, new FuseReadIn { Fh = 42, Offset = 100, ReadSize = 100 });
        Assert.Equal(0, eof.Error);
        Assert.Empty(eof.Payload);

        byte[] data = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
        var write = k.Call(FuseOpcode.Write, 2,
            new FuseWriteIn { Fh = 42, Offset = 5, WriteSize = (uint)data.Length, WriteFlags = (uint)WriteFlags.Cache }, data);
        Assert.Equal(0, write.Error);
        Assert.Equal(new ByteWriter().U32(10).U32(0).ToArray(), write.Payload);
        Assert.Equal(5, fs.LastWriteOffset);
        Assert.Equal(10, fs.LastWriteLength);
        Assert.Equal(55, fs.LastWriteSum);
        Assert.Equal(WriteFlags.Cache, fs.LastWriteFlags);

        var release = k.Call(FuseOpcode.Release, 2, new FuseReleaseIn { Fh = 42 });
        Assert.Equal(0, release.Error);
        Assert.Empty(release.Payload);
        Assert.Equal(1, fs.ReleaseCalls);
    }

    [Fact]
    public void Write_whose_size_runs_past_the_request_gets_EINVAL()
    {
        using var k = FakeKernel.StartInitialized(new TestFileSystem());
        var m = k.Call(FuseOpcode.Write, 2, new FuseWriteIn { Fh = 42, WriteSize = 100 }, new byte[10]);
        Assert.Equal(-EINVAL, m.Error);
        AssertNextIsServed(k);
    }

    [Fact]
    public void Forget_and_batch_forget_have_no_reply_and_reach_the_file_system()
    {
        var fs = new TestFileSystem();
        using var k = FakeKernel.StartInitialized(fs);

        k.Send(FuseOpcode.Forget, 2, new FuseForgetIn { NLookup = 3 });
        var batch = new ByteWriter().U32(3).U32(0)
            .U64(10).U64(1)
            .U64(11).U64(2)
            .U64(12).U64(1UL << 40)
            .ToArray();
        k.Send(FuseOpcode.BatchForget, 0, batch);

        AssertNextIsServed(k);
        Assert.Equal([(2UL, 3UL), (10UL, 1UL), (11UL, 2UL), (12UL, 1UL << 40)], fs.Forgets);
    }

    [Fact]
    public void Length_mismatch_gets_EINVAL_and_the_worker_goes_on()
    {
        using var k = FakeKernel.StartInitialized(new TestFileSystem());

        ulong unique = k.NextUnique();
        var args = Bytes.Name("hello");
        k.SendRaw(FakeKernel.BuildRequest(FuseOpcode.Lookup, unique, 1, args, lengthOverride: (uint)(40 + args.Length + 8)));
        Assert.Equal(-EINVAL, k.ReadReply(unique).Error);

        unique = k.NextUnique();
        k.SendRaw(FakeKernel.BuildRequest(FuseOpcode.Lookup, unique, 1, args, lengthOverride: 40));
        Assert.Equal(-EINVAL, k.ReadReply(unique).Error);

        // No-reply opcodes stay unanswered even when malformed.
        var fs = (TestFileSystem)k.FileSystem;
        k.SendRaw(FakeKernel.BuildRequest(FuseOpcode.Forget, k.NextUnique(), 2, Bytes.Of(new FuseForgetIn { NLookup = 1 }), lengthOverride: 100));
        AssertNextIsServed(k);
        Assert.Empty(fs.Forgets);
    }

    [Fact]
    public void Message_shorter_than_the_header_is_ignored()
    {
        using var k = FakeKernel.StartInitialized(new TestFileSystem());
        // (A 0-byte message cannot be tested: on a socket it reads as end of stream; /dev/fuse never returns 0.)
        k.SendRaw(new byte[20]);
        k.SendRaw(new byte[FuseInHeader.Size - 1]);
        AssertNextIsServed(k);
    }

    [Theory]
    [InlineData((uint)FuseOpcode.Read, 20)]
    [InlineData((uint)FuseOpcode.Write, 39)]
    [InlineData((uint)FuseOpcode.Open, 4)]
    [InlineData((uint)FuseOpcode.SetAttr, 80)]
    [InlineData((uint)FuseOpcode.Release, 8)]
    [InlineData((uint)FuseOpcode.Lookup, 0)]
    [InlineData((uint)FuseOpcode.GetXattr, 8)]
    public void Arguments_shorter_than_the_opcode_struct_get_EINVAL(uint opcode, int argLength)
    {
        // The opcode as a number: FuseOpcode is internal and a public test method cannot take it.
        using var k = FakeKernel.StartInitialized(new TestFileSystem());
        var m = k.Call((FuseOpcode)opcode, 2, new byte[argLength]);
        Assert.Equal(-EINVAL, m.Error);
        AssertNextIsServed(k);
    }

    [Fact]
    public void Short_forget_gets_no_reply()
    {
        var fs = new TestFileSystem();
        using var k = FakeKernel.StartInitialized(fs);
        k.Send(FuseOpcode.Forget, 2, new byte[4]);
        k.Send(FuseOpcode.BatchForget, 0, new byte[4]);
        k.Send(FuseOpcode.Interrupt, 0, new byte[4]);
        AssertNextIsServed(k);
        Assert.Empty(fs.Forgets);
    }

    [Fact]
    public void Name_without_terminating_zero_gets_EINVAL()
    {
        using var k = FakeKernel.StartInitialized(new TestFileSystem());
        var m = k.Call(FuseOpcode.Lookup, 1, Bytes.Utf8("hello"));
        Assert.Equal(-EINVAL, m.Error);
        AssertNextIsServed(k);
    }

    [Fact]
    public void Batch_forget_count_larger_than_the_payload_is_dropped_without_reply()
    {
        var fs = new TestFileSystem();
        using var k = FakeKernel.StartInitialized(fs);

        k.Send(FuseOpcode.BatchForget, 0, new ByteWriter().U32(3).U32(0).U64(10).U64(1).U64(11).U64(1).ToArray());
        k.Send(FuseOpcode.BatchForget, 0, new ByteWriter().U32(uint.MaxValue).U32(0).U64(10).U64(1).ToArray());

        AssertNextIsServed(k);
        Assert.Empty(fs.Forgets);
    }

    [Fact]
    public void Extension_length_larger_than_the_request_gets_EINVAL()
    {
        using var k = FakeKernel.StartInitialized(new TestFileSystem());
        ulong unique = k.NextUnique();
        k.SendRaw(FakeKernel.BuildRequest(FuseOpcode.Lookup, unique, 1, Bytes.Name("hello"), extLenOverride: 10));
        Assert.Equal(-EINVAL, k.ReadReply(unique).Error);

        // Extensions eating into the arguments: LOOKUP is left with a 0-byte name area.
        unique = k.NextUnique();
        k.SendRaw(FakeKernel.BuildRequest(FuseOpcode.Lookup, unique, 1, new byte[8], extLenOverride: 1));
        Assert.Equal(-EINVAL, k.ReadReply(unique).Error);
        AssertNextIsServed(k);
    }

    /// <summary>A FUSE_EXT_GROUPS extension: fuse_ext_header, then fuse_supp_groups { nr_groups; groups[] }, padded to 8.</summary>
    private static byte[] GroupsExtension(params uint[] groups)
    {
        var body = new ByteWriter().U32((uint)groups.Length);
        foreach (uint g in groups) body.U32(g);
        body.PadTo8();
        return new ByteWriter().U32((uint)(8 + body.Length)).U32(FuseExtHeader.TypeGroups).Raw(body.ToArray()).ToArray();
    }

    [Fact]
    public void The_group_extension_and_the_open_kill_flag_reach_the_context()
    {
        var fs = new TestFileSystem();
        using var k = FakeKernel.StartInitialized(fs);
        // pid 0: /proc is not consulted, so only the kernel's word makes the caller a member.
        ulong unique = k.Send(FuseOpcode.Lookup, 1, Bytes.Name("hello"), uid: 1000, gid: 1001, extensions: GroupsExtension(27));
        Assert.Equal(0, k.ReadReply(unique).Error);
        Assert.True(fs.LastContext.IsInGroup(27));
        Assert.True(fs.LastContext.IsInGroup(1001));
        Assert.False(fs.LastContext.IsInGroup(28));
        unique = k.Send(FuseOpcode.Lookup, 1, Bytes.Name("hello"), uid: 1000, gid: 1001);
        Assert.Equal(0, k.ReadReply(unique).Error);
        Assert.False(fs.LastContext.IsInGroup(27));
        // A malformed extension grants nothing.
        unique = k.Send(FuseOpcode.Lookup, 1, Bytes.Name("hello"), extensions: new ByteWriter().U32(4).U32(FuseExtHeader.TypeGroups).ToArray());
        Assert.Equal(0, k.ReadReply(unique).Error);
        Assert.False(fs.LastContext.IsInGroup(4));

        Assert.Equal(0, k.Call(FuseOpcode.Open, 2, new FuseOpenIn { Flags = 0x201, OpenFlags = 1 }).Error); // FUSE_OPEN_KILL_SUIDGID
        Assert.True(fs.LastContext.KillSuidSgid);
        Assert.Equal(0, k.Call(FuseOpcode.Open, 2, new FuseOpenIn { Flags = 0x201 }).Error);
        Assert.False(fs.LastContext.KillSuidSgid);
    }

    [Fact]
    public void Request_extensions_do_not_disturb_argument_parsing()
    {
        var fs = new TestFileSystem();
        using var k = FakeKernel.StartInitialized(fs);

        ulong unique = k.Send(FuseOpcode.Lookup, 1, Bytes.Name("hello"), extensions: GroupsExtension(27, 1000));
        var m = k.ReadReply(unique);
        Assert.Equal(0, m.Error);
        Assert.Equal(HelloEntryOut(), m.Payload);

        byte[] data = [9, 9, 9];
        unique = k.Send(FuseOpcode.Write, 2, Bytes.Join(Bytes.Of(new FuseWriteIn { Fh = 42, WriteSize = 3 }), data), extensions: GroupsExtension(5));
        m = k.ReadReply(unique);
        Assert.Equal(0, m.Error);
        Assert.Equal(3u, m.Read<FuseWriteOut>().WriteSize);
        Assert.Equal(27, fs.LastWriteSum);

        // A name that is only terminated inside the extension area is not terminated.
        unique = k.Send(FuseOpcode.Lookup, 1, Bytes.Utf8("hello"), extensions: GroupsExtension(0));
        Assert.Equal(-EINVAL, k.ReadReply(unique).Error);
        AssertNextIsServed(k);
    }

    [Fact]
    public void Handler_exceptions_and_errnos_become_replies()
    {
        var fs = new TestFileSystem();
        using var k = FakeKernel.StartInitialized(fs);

        Assert.Equal(-Errno.EIO.Value, k.Call(FuseOpcode.Lookup, 1, Bytes.Name("throw")).Error);
        Assert.Equal(-Errno.EIO.Value, k.Call(FuseOpcode.Lookup, 1, Bytes.Name("throw-async")).Error);
        Assert.Equal(-13, k.Call(FuseOpcode.Lookup, 1, Bytes.Name("eacces")).Error);
        var missing = k.Call(FuseOpcode.Lookup, 1, Bytes.Name("nothere"));
        Assert.Equal(-2, missing.Error);
        Assert.Empty(missing.Payload);
        Assert.Equal("nothere", fs.LastMissingName);
        AssertNextIsServed(k);
    }

    [Fact]
    public void Asynchronous_handler_still_answers_and_does_not_block_the_worker()
    {
        using var k = FakeKernel.StartInitialized(new TestFileSystem());

        ulong slow = k.Send(FuseOpcode.Lookup, 1, Bytes.Name("slow"));
        ulong fast = k.Send(FuseOpcode.GetAttr, 1, new FuseGetAttrIn());
        // The same single worker answers the fast request while the slow one waits.
        var first = k.Read();
        Assert.Equal(fast, first.Unique);
        var second = k.ReadReply(slow);
        Assert.Equal(0, second.Error);
        Assert.Equal(HelloEntryOut(), second.Payload);
        AssertNextIsServed(k);
    }

    [Fact]
    public void Several_workers_answer_every_request()
    {
        using var k = FakeKernel.StartInitialized(new TestFileSystem(), workers: 4);
        var sent = new HashSet<ulong>();
        for (int i = 0; i < 200; i++)
            sent.Add(k.Send(FuseOpcode.Lookup, 1, Bytes.Name(i % 3 == 0 ? "slow" : "hello")));
        for (int i = 0; i < 200; i++)
        {
            var m = k.Read();
            Assert.Equal(0, m.Error);
            Assert.True(sent.Remove(m.Unique), $"unexpected or duplicate reply {m}");
        }
        Assert.Empty(sent);
    }

    private readonly record struct Dirent(ulong Ino, ulong Off, uint NameLen, uint Type, string Name, int RecordStart, int RecordLength);

    private static List<Dirent> ParseDirents(byte[] payload, bool plus)
    {
        var list = new List<Dirent>();
        int at = 0;
        while (at < payload.Length)
        {
            Assert.Equal(0, at % 8);
            int start = at;
            if (plus) at += FuseEntryOut.Size;
            var span = payload.AsSpan(at);
            ulong ino = BinaryPrimitives.ReadUInt64LittleEndian(span);
            ulong off = BinaryPrimitives.ReadUInt64LittleEndian(span[8..]);
            uint namelen = BinaryPrimitives.ReadUInt32LittleEndian(span[16..]);
            uint type = BinaryPrimitives.ReadUInt32LittleEndian(span[20..]);
            string name = Encoding.UTF8.GetString(span.Slice(24, (int)namelen));
            int unpadded = at + 24 + (int)namelen;
            int end = (unpadded + 7) & ~7;
            Assert.True(end <= payload.Length, "dirent runs past the reply");
            Assert.All(payload[unpadded..end], b => Assert.Equal(0, b));
            list.Add(new Dirent(ino, off, namelen, type, name, start, end - start));
            at = end;
        }
        return list;
    }

    [Fact]
    public void Readdir_entries_are_aligned_and_carry_offset_length_and_type()
    {
        using var k = FakeKernel.StartInitialized(new TestFileSystem());
        var m = k.Call(FuseOpcode.ReadDir, 1, new FuseReadIn { Fh = 1, Offset = 0, ReadSize = 4096 });
        Assert.Equal(0, m.Error);

        var entries = ParseDirents(m.Payload, plus: false);
        Assert.Equal(TestFileSystem.Entries.Select(e => e.Name), entries.Select(e => e.Name));
        for (int i = 0; i < entries.Count; i++)
        {
            var (_, ino, mode) = TestFileSystem.Entries[i];
            Assert.Equal(ino, entries[i].Ino);
            Assert.Equal((ulong)(i + 1), entries[i].Off);
            Assert.Equal(mode >> 12, entries[i].Type);
        }
        Assert.Equal([32, 32, 32, 48, 32], entries.Select(e => e.RecordLength));
        Assert.Equal(176, m.Payload.Length);

        // Exact bytes of the "hello" record.
        Assert.Equal(new ByteWriter().U64(2).U64(3).U32(5).U32(8).Raw("hello"u8).Zeros(3).ToArray(), m.Payload[64..96]);
    }

    [Fact]
    public void Readdir_stops_when_the_buffer_is_full_and_continues_from_the_offset()
    {
        using var k = FakeKernel.StartInitialized(new TestFileSystem());

        // Room for ".", ".." and "hello" (96 bytes) but not the 48-byte fourth entry.
        var first = k.Call(FuseOpcode.ReadDir, 1, new FuseReadIn { Fh = 1, Offset = 0, ReadSize = 96 + 47 });
        var part1 = ParseDirents(first.Payload, plus: false);
        Assert.Equal([".", "..", "hello"], part1.Select(e => e.Name));

        var second = k.Call(FuseOpcode.ReadDir, 1, new FuseReadIn { Fh = 1, Offset = part1[^1].Off, ReadSize = 4096 });
        Assert.Equal(["a-much-longer-name.txt", "sub"], ParseDirents(second.Payload, plus: false).Select(e => e.Name));

        var end = k.Call(FuseOpcode.ReadDir, 1, new FuseReadIn { Fh = 1, Offset = 5, ReadSize = 4096 });
        Assert.Equal(0, end.Error);
        Assert.Empty(end.Payload);

        var tiny = k.Call(FuseOpcode.ReadDir, 1, new FuseReadIn { Fh = 1, Offset = 0, ReadSize = 31 });
        Assert.Equal(0, tiny.Error);
        Assert.Empty(tiny.Payload);
    }

    [Fact]
    public void Readdirplus_entries_carry_an_entry_out_before_each_dirent()
    {
        using var k = FakeKernel.StartInitialized(new TestFileSystem());
        var m = k.Call(FuseOpcode.ReadDirPlus, 1, new FuseReadIn { Fh = 1, Offset = 0, ReadSize = 4096 });
        Assert.Equal(0, m.Error);

        var entries = ParseDirents(m.Payload, plus: true);
        Assert.Equal(TestFileSystem.Entries.Select(e => e.Name), entries.Select(e => e.Name));
        Assert.Equal([160, 160, 160, 176, 160], entries.Select(e => e.RecordLength));

        // "." has no node id (no lookup reference); "hello" carries its node and attributes.
        Assert.Equal(0UL, BinaryPrimitives.ReadUInt64LittleEndian(m.Payload.AsSpan(entries[0].RecordStart)));
        var hello = entries[2];
        var entryOut = m.Payload.AsSpan(hello.RecordStart, FuseEntryOut.Size).ToArray();
        var expected = HelloEntryOut();
        expected.AsSpan(8, 8).Clear(); // generation: EntryReply's constructor leaves it 0
        Assert.Equal(expected, entryOut);
        Assert.Equal(3UL, hello.Off);
        Assert.Equal(8u, hello.Type);

        // Buffer full: room for two records and a bit.
        var part = k.Call(FuseOpcode.ReadDirPlus, 1, new FuseReadIn { Fh = 1, Offset = 0, ReadSize = 320 + 159 });
        Assert.Equal([".", ".."], ParseDirents(part.Payload, plus: true).Select(e => e.Name));
    }

    [Fact]
    public void Getxattr_with_size_zero_returns_the_size()
    {
        using var k = FakeKernel.StartInitialized(new TestFileSystem());

        var size = k.Call(FuseOpcode.GetXattr, 2, new FuseGetXattrIn { BufferSize = 0 }, Bytes.Name("user.test"));
        Assert.Equal(0, size.Error);
        Assert.Equal(new ByteWriter().U32(6).U32(0).ToArray(), size.Payload);

        var value = k.Call(FuseOpcode.GetXattr, 2, new FuseGetXattrIn { BufferSize = 100 }, Bytes.Name("user.test"));
        Assert.Equal(0, value.Error);
        Assert.Equal(TestFileSystem.XattrValue, value.Payload);

        Assert.Equal(-Errno.ERANGE.Value, k.Call(FuseOpcode.GetXattr, 2, new FuseGetXattrIn { BufferSize = 3 }, Bytes.Name("user.test")).Error);
        Assert.Equal(-Errno.ENODATA.Value, k.Call(FuseOpcode.GetXattr, 2, new FuseGetXattrIn { BufferSize = 0 }, Bytes.Name("user.none")).Error);
    }

    [Fact]
    public void Setxattr_with_the_extended_struct()
    {
        var fs = new TestFileSystem();
        using var k = FakeKernel.StartInitialized(fs);
        Assert.True(k.Core.Connection.Has(InitFlags.SetxattrExt));

        var args = new ByteWriter().U32(4).U32(1).U32(0x1).U32(0).Raw(Bytes.Name("user.x")).Raw("ab\0d"u8).ToArray();
        var m = k.Call(FuseOpcode.SetXattr, 2, args);

        Assert.Equal(0, m.Error);
        Assert.Equal("user.x", fs.LastXattrName);
        Assert.Equal("ab\0d"u8.ToArray(), fs.LastXattrValue);
        Assert.Equal(1, fs.LastXattrFlags);
    }

    [Fact]
    public void Setxattr_with_the_compat_struct()
    {
        var fs = new TestFileSystem { OnInit = c => c.Want &= ~InitFlags.SetxattrExt };
        using var k = FakeKernel.StartInitialized(fs);
        Assert.False(k.Core.Connection.Has(InitFlags.SetxattrExt));

        var args = new ByteWriter().U32(6).U32(2).Raw(Bytes.Name("user.compat")).Raw("value6"u8).ToArray();
        var m = k.Call(FuseOpcode.SetXattr, 2, args);

        Assert.Equal(0, m.Error);
        Assert.Equal("user.compat", fs.LastXattrName);
        Assert.Equal("value6"u8.ToArray(), fs.LastXattrValue);
        Assert.Equal(2, fs.LastXattrFlags);

        // A value size running past the request is malformed.
        var bad = new ByteWriter().U32(60).U32(0).Raw(Bytes.Name("user.compat")).Raw("value6"u8).ToArray();
        Assert.Equal(-EINVAL, k.Call(FuseOpcode.SetXattr, 2, bad).Error);
    }
}
