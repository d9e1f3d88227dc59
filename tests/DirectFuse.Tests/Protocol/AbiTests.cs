using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using DirectFuse.LowLevel;
using DirectFuse.Protocol;
using DirectFuse.Session;

namespace DirectFuse.Tests.Protocol;

/// <summary>The C# structs must match include/uapi/linux/fuse.h byte for byte.</summary>
public sealed class AbiTests
{
    /// <summary>sizeof() of each struct in the kernel's fuse.h (7.45, x86-64/arm64).</summary>
    public static TheoryData<Type, int> KernelSizes => new()
    {
        { typeof(FuseInHeader), 40 },
        { typeof(FuseOutHeader), 16 },
        { typeof(FuseExtHeader), 8 },
        { typeof(FuseAttr), 88 },
        { typeof(FuseEntryOut), 128 },
        { typeof(FuseAttrOut), 104 },
        { typeof(FuseGetAttrIn), 16 },
        { typeof(FuseSetAttrIn), 88 },
        { typeof(FuseForgetIn), 8 },
        { typeof(FuseForgetOne), 16 },
        { typeof(FuseBatchForgetIn), 8 },
        { typeof(FuseKStatFs), 80 },
        { typeof(FuseOpenIn), 8 },
        { typeof(FuseCreateIn), 16 },
        { typeof(FuseOpenOut), 16 },
        { typeof(FuseReleaseIn), 24 },
        { typeof(FuseFlushIn), 24 },
        { typeof(FuseReadIn), 40 },
        { typeof(FuseWriteIn), 40 },
        { typeof(FuseWriteOut), 8 },
        { typeof(FuseFsyncIn), 16 },
        { typeof(FuseFileLock), 24 },
        { typeof(FuseLkIn), 48 },
        { typeof(FuseFallocateIn), 32 },
        { typeof(FuseLseekIn), 24 },
        { typeof(FuseCopyFileRangeIn), 56 },
        { typeof(FuseIoctlIn), 32 },
        { typeof(FuseIoctlIovec), 16 },
        { typeof(FuseIoctlOut), 16 },
        { typeof(FusePollIn), 24 },
        { typeof(FuseInterruptIn), 8 },
        { typeof(FuseInitIn), 64 },
        { typeof(FuseInitOut), 64 },
        { typeof(CuseInitIn), 16 },
        { typeof(CuseInitOut), 72 },
        { typeof(FuseMkNodIn), 16 },
        { typeof(FuseMkDirIn), 8 },
        { typeof(FuseRenameIn), 8 },
        { typeof(FuseRename2In), 16 },
        { typeof(FuseLinkIn), 8 },
        { typeof(FuseAccessIn), 8 },
        { typeof(FuseSetXattrIn), 16 },
        { typeof(FuseGetXattrIn), 8 },
        { typeof(FuseGetXattrOut), 8 },
        { typeof(FuseDirent), 24 },
        { typeof(FuseNotifyPollWakeupOut), 8 },
        { typeof(FuseNotifyInvalInodeOut), 24 },
        { typeof(FuseNotifyInvalEntryOut), 16 },
        { typeof(FuseNotifyDeleteOut), 24 },
        { typeof(FuseNotifyStoreOut), 24 },
        { typeof(FuseNotifyRetrieveOut), 32 },
        { typeof(FuseNotifyRetrieveIn), 40 },
    };

    [Theory]
    [MemberData(nameof(KernelSizes))]
    public void Struct_sizes_match_the_kernel_and_the_Size_constant(Type type, int kernelSize)
    {
        int unsafeSize = (int)typeof(Unsafe).GetMethod(nameof(Unsafe.SizeOf))!.MakeGenericMethod(type).Invoke(null, null)!;
        Assert.Equal(kernelSize, unsafeSize);
        Assert.Equal(kernelSize, Marshal.SizeOf(type));
        var sizeConst = type.GetField("Size", BindingFlags.Public | BindingFlags.Static);
        Assert.True(sizeConst is not null && sizeConst.IsLiteral, $"{type.Name} has no Size constant");
        Assert.Equal(kernelSize, (int)sizeConst.GetRawConstantValue()!);
    }

    [Fact]
    public void Every_protocol_struct_is_covered()
    {
        var covered = KernelSizes.Select(row => (Type)row[0]).ToHashSet();
        var structs = typeof(FuseInHeader).Assembly.GetTypes()
            .Where(t => t.Namespace == "DirectFuse.Protocol" && t.IsValueType && !t.IsEnum);
        Assert.Empty(structs.Where(t => !covered.Contains(t)).Select(t => t.Name));
    }

    [Fact]
    public void Compat_sizes_match_older_kernels()
    {
        Assert.Equal(16, FuseInitIn.CompatSize);   // before 7.36: major, minor, max_readahead, flags
        Assert.Equal(24, FuseInitOut.Compat22Size); // FUSE_COMPAT_22_INIT_OUT_SIZE
        Assert.Equal(8, FuseSetXattrIn.CompatSize); // FUSE_COMPAT_SETXATTR_IN_SIZE
    }

    [Theory]
    [InlineData(typeof(FuseInHeader), nameof(FuseInHeader.Opcode), 4)]
    [InlineData(typeof(FuseInHeader), nameof(FuseInHeader.Unique), 8)]
    [InlineData(typeof(FuseInHeader), nameof(FuseInHeader.NodeId), 16)]
    [InlineData(typeof(FuseInHeader), nameof(FuseInHeader.Pid), 32)]
    [InlineData(typeof(FuseInHeader), nameof(FuseInHeader.TotalExtLen), 36)]
    [InlineData(typeof(FuseOutHeader), nameof(FuseOutHeader.Unique), 8)]
    [InlineData(typeof(FuseInitIn), nameof(FuseInitIn.Flags), 12)]
    [InlineData(typeof(FuseInitIn), nameof(FuseInitIn.Flags2), 16)]
    [InlineData(typeof(FuseInitOut), nameof(FuseInitOut.MaxBackground), 16)]
    [InlineData(typeof(FuseInitOut), nameof(FuseInitOut.MaxWrite), 20)]
    [InlineData(typeof(FuseInitOut), nameof(FuseInitOut.TimeGran), 24)]
    [InlineData(typeof(FuseInitOut), nameof(FuseInitOut.MaxPages), 28)]
    [InlineData(typeof(FuseInitOut), nameof(FuseInitOut.MapAlignment), 30)]
    [InlineData(typeof(FuseInitOut), nameof(FuseInitOut.Flags2), 32)]
    [InlineData(typeof(FuseInitOut), nameof(FuseInitOut.MaxStackDepth), 36)]
    [InlineData(typeof(FuseInitOut), nameof(FuseInitOut.RequestTimeout), 40)]
    [InlineData(typeof(FuseOpenOut), nameof(FuseOpenOut.OpenFlags), 8)]
    [InlineData(typeof(FuseOpenOut), nameof(FuseOpenOut.BackingId), 12)]
    [InlineData(typeof(FuseEntryOut), nameof(FuseEntryOut.EntryValidNsec), 32)]
    [InlineData(typeof(FuseEntryOut), nameof(FuseEntryOut.Attr), 40)]
    [InlineData(typeof(FuseAttrOut), nameof(FuseAttrOut.Attr), 16)]
    [InlineData(typeof(FuseAttr), nameof(FuseAttr.AtimeNsec), 48)]
    [InlineData(typeof(FuseAttr), nameof(FuseAttr.Mode), 60)]
    [InlineData(typeof(FuseAttr), nameof(FuseAttr.BlkSize), 80)]
    [InlineData(typeof(FuseAttr), nameof(FuseAttr.Flags), 84)]
    [InlineData(typeof(FuseSetAttrIn), nameof(FuseSetAttrIn.Mode), 68)]
    [InlineData(typeof(FuseSetAttrIn), nameof(FuseSetAttrIn.Uid), 76)]
    [InlineData(typeof(FuseReadIn), nameof(FuseReadIn.LockOwner), 24)]
    [InlineData(typeof(FuseReadIn), nameof(FuseReadIn.Flags), 32)]
    [InlineData(typeof(FuseWriteIn), nameof(FuseWriteIn.WriteFlags), 20)]
    [InlineData(typeof(FuseLkIn), nameof(FuseLkIn.Lk), 16)]
    [InlineData(typeof(FuseLkIn), nameof(FuseLkIn.LkFlags), 40)]
    [InlineData(typeof(FuseIoctlIn), nameof(FuseIoctlIn.Arg), 16)]
    [InlineData(typeof(FuseCopyFileRangeIn), nameof(FuseCopyFileRangeIn.Flags), 48)]
    [InlineData(typeof(FuseNotifyRetrieveOut), nameof(FuseNotifyRetrieveOut.RetrieveSize), 24)]
    [InlineData(typeof(FuseNotifyRetrieveIn), nameof(FuseNotifyRetrieveIn.RetrieveSize), 16)]
    [InlineData(typeof(FuseDirent), nameof(FuseDirent.NameLen), 16)]
    [InlineData(typeof(FuseDirent), nameof(FuseDirent.Type), 20)]
    [InlineData(typeof(CuseInitOut), nameof(CuseInitOut.DevMinor), 28)]
    public void Field_offsets_match_the_kernel(Type type, string field, int offset) =>
        Assert.Equal(offset, (int)Marshal.OffsetOf(type, field));

    [Fact]
    public void Opcode_numbers_match_the_kernel()
    {
        Assert.Equal(26u, (uint)FuseOpcode.Init);
        Assert.Equal(36u, (uint)FuseOpcode.Interrupt);
        Assert.Equal(41u, (uint)FuseOpcode.NotifyReply);
        Assert.Equal(42u, (uint)FuseOpcode.BatchForget);
        Assert.Equal(53u, (uint)FuseOpcode.CopyFileRange64);
        Assert.Equal(4096u, (uint)FuseOpcode.CuseInit);
        Assert.Equal(1UL << 30, (ulong)InitFlags.InitExt);
        Assert.Equal(1UL << 37, (ulong)InitFlags.Passthrough);
    }

    [Fact]
    public void Opcode_table_has_one_row_per_opcode_with_unique_upper_case_names()
    {
        var rows = OpcodeTable.All.ToList();
        foreach (var opcode in Enum.GetValues<FuseOpcode>())
            Assert.True(rows.Count(r => r.Opcode == opcode) == 1, $"{opcode} has {rows.Count(r => r.Opcode == opcode)} rows");
        Assert.Equal(Enum.GetValues<FuseOpcode>().Length, rows.Count);
        Assert.Equal(rows.Count, rows.Select(r => r.Name).Distinct().Count());
        foreach (var row in rows)
        {
            Assert.Matches("^[A-Z][A-Z0-9_]*$", row.Name);
            Assert.True(row.MinArgSize >= 0, $"{row.Name} has MinArgSize {row.MinArgSize}");
            Assert.NotNull(row.Handler);
            Assert.Same(row, OpcodeTable.Get(row.Opcode));
            Assert.Equal(row.Name, OpcodeTable.NameOf(row.Opcode));
        }
    }

    [Fact]
    public void Opcodes_without_a_reply_are_marked()
    {
        var noReply = OpcodeTable.All.Where(r => !r.HasReply).Select(r => r.Opcode).Order().ToArray();
        Assert.Equal([FuseOpcode.Forget, FuseOpcode.Interrupt, FuseOpcode.NotifyReply, FuseOpcode.BatchForget], noReply);
    }

    [Fact]
    public void Unknown_opcodes_have_no_row()
    {
        Assert.Null(OpcodeTable.Get((FuseOpcode)7));
        Assert.Null(OpcodeTable.Get((FuseOpcode)19));
        Assert.Null(OpcodeTable.Get((FuseOpcode)9999));
        Assert.Equal("OPCODE_9999", OpcodeTable.NameOf((FuseOpcode)9999));
    }
}
