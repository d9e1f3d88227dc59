using DirectFuse.Protocol;

namespace DirectFuse.Session;

internal delegate ValueTask RequestHandler(FuseDispatcher dispatcher, FuseRequest request);

/// <summary>One row of the opcode table: the debug name, the smallest valid argument size, and the handler.</summary>
internal sealed record OpcodeInfo(FuseOpcode Opcode, string Name, int MinArgSize, RequestHandler Handler, bool HasReply = true);

/// <summary>
/// The single table that drives dispatch, debug names and argument-size checks. Every opcode of the 7.45
/// ABI has a row; opcodes the kernel only uses with virtio-fs DAX answer ENOSYS through their handler.
/// </summary>
internal static class OpcodeTable
{
    private static readonly OpcodeInfo?[] s_byOpcode = Build();

    public static IEnumerable<OpcodeInfo> All => s_byOpcode.Where(i => i is not null).Append(CuseInit)!;

    public static readonly OpcodeInfo CuseInit =
        new(FuseOpcode.CuseInit, "CUSE_INIT", CuseInitIn.Size, FuseDispatcher.CuseInit);

    public static OpcodeInfo? Get(FuseOpcode opcode) =>
        (uint)opcode < (uint)s_byOpcode.Length ? s_byOpcode[(int)opcode] : opcode == FuseOpcode.CuseInit ? CuseInit : null;

    public static string NameOf(FuseOpcode opcode) => Get(opcode)?.Name ?? $"OPCODE_{(uint)opcode}";

    private static OpcodeInfo?[] Build()
    {
        OpcodeInfo[] rows =
        [
            new(FuseOpcode.Lookup, "LOOKUP", 1, FuseDispatcher.Lookup),
            new(FuseOpcode.Forget, "FORGET", FuseForgetIn.Size, FuseDispatcher.Forget, HasReply: false),
            new(FuseOpcode.GetAttr, "GETATTR", 0, FuseDispatcher.GetAttr),
            new(FuseOpcode.SetAttr, "SETATTR", FuseSetAttrIn.Size, FuseDispatcher.SetAttr),
            new(FuseOpcode.ReadLink, "READLINK", 0, FuseDispatcher.ReadLink),
            new(FuseOpcode.SymLink, "SYMLINK", 2, FuseDispatcher.SymLink),
            new(FuseOpcode.MkNod, "MKNOD", FuseMkNodIn.Size + 1, FuseDispatcher.MkNod),
            new(FuseOpcode.MkDir, "MKDIR", FuseMkDirIn.Size + 1, FuseDispatcher.MkDir),
            new(FuseOpcode.Unlink, "UNLINK", 1, FuseDispatcher.Unlink),
            new(FuseOpcode.RmDir, "RMDIR", 1, FuseDispatcher.RmDir),
            new(FuseOpcode.Rename, "RENAME", FuseRenameIn.Size + 2, FuseDispatcher.Rename),
            new(FuseOpcode.Link, "LINK", FuseLinkIn.Size + 1, FuseDispatcher.Link),
            new(FuseOpcode.Open, "OPEN", FuseOpenIn.Size, FuseDispatcher.Open),
            new(FuseOpcode.Read, "READ", FuseReadIn.Size, FuseDispatcher.Read),
            new(FuseOpcode.Write, "WRITE", FuseWriteIn.Size, FuseDispatcher.Write),
            new(FuseOpcode.StatFs, "STATFS", 0, FuseDispatcher.StatFs),
            new(FuseOpcode.Release, "RELEASE", FuseReleaseIn.Size, FuseDispatcher.Release),
            new(FuseOpcode.Fsync, "FSYNC", FuseFsyncIn.Size, FuseDispatcher.Fsync),
            new(FuseOpcode.SetXattr, "SETXATTR", FuseSetXattrIn.CompatSize + 1, FuseDispatcher.SetXattr),
            new(FuseOpcode.GetXattr, "GETXATTR", FuseGetXattrIn.Size + 1, FuseDispatcher.GetXattr),
            new(FuseOpcode.ListXattr, "LISTXATTR", FuseGetXattrIn.Size, FuseDispatcher.ListXattr),
            new(FuseOpcode.RemoveXattr, "REMOVEXATTR", 1, FuseDispatcher.RemoveXattr),
            new(FuseOpcode.Flush, "FLUSH", FuseFlushIn.Size, FuseDispatcher.Flush),
            new(FuseOpcode.Init, "INIT", FuseInitIn.CompatSize, FuseDispatcher.Init),
            new(FuseOpcode.OpenDir, "OPENDIR", FuseOpenIn.Size, FuseDispatcher.OpenDir),
            new(FuseOpcode.ReadDir, "READDIR", FuseReadIn.Size, FuseDispatcher.ReadDir),
            new(FuseOpcode.ReleaseDir, "RELEASEDIR", FuseReleaseIn.Size, FuseDispatcher.ReleaseDir),
            new(FuseOpcode.FsyncDir, "FSYNCDIR", FuseFsyncIn.Size, FuseDispatcher.FsyncDir),
            new(FuseOpcode.GetLk, "GETLK", FuseLkIn.Size, FuseDispatcher.GetLk),
            new(FuseOpcode.SetLk, "SETLK", FuseLkIn.Size, FuseDispatcher.SetLk),
            new(FuseOpcode.SetLkW, "SETLKW", FuseLkIn.Size, FuseDispatcher.SetLk),
            new(FuseOpcode.Access, "ACCESS", FuseAccessIn.Size, FuseDispatcher.Access),
            new(FuseOpcode.Create, "CREATE", FuseCreateIn.Size + 1, FuseDispatcher.Create),
            new(FuseOpcode.Interrupt, "INTERRUPT", FuseInterruptIn.Size, FuseDispatcher.Interrupt, HasReply: false),
            new(FuseOpcode.Bmap, "BMAP", 16, FuseDispatcher.NotSupported),
            new(FuseOpcode.Destroy, "DESTROY", 0, FuseDispatcher.Destroy),
            new(FuseOpcode.Ioctl, "IOCTL", FuseIoctlIn.Size, FuseDispatcher.Ioctl),
            new(FuseOpcode.Poll, "POLL", FusePollIn.Size, FuseDispatcher.Poll),
            new(FuseOpcode.NotifyReply, "NOTIFY_REPLY", FuseNotifyRetrieveIn.Size, FuseDispatcher.NotifyReply, HasReply: false),
            new(FuseOpcode.BatchForget, "BATCH_FORGET", FuseBatchForgetIn.Size, FuseDispatcher.BatchForget, HasReply: false),
            new(FuseOpcode.Fallocate, "FALLOCATE", FuseFallocateIn.Size, FuseDispatcher.Fallocate),
            new(FuseOpcode.ReadDirPlus, "READDIRPLUS", FuseReadIn.Size, FuseDispatcher.ReadDirPlus),
            new(FuseOpcode.Rename2, "RENAME2", FuseRename2In.Size + 2, FuseDispatcher.Rename2),
            new(FuseOpcode.Lseek, "LSEEK", FuseLseekIn.Size, FuseDispatcher.Lseek),
            new(FuseOpcode.CopyFileRange, "COPY_FILE_RANGE", FuseCopyFileRangeIn.Size, FuseDispatcher.CopyFileRange),
            new(FuseOpcode.SetupMapping, "SETUPMAPPING", 40, FuseDispatcher.NotSupported),
            new(FuseOpcode.RemoveMapping, "REMOVEMAPPING", 4, FuseDispatcher.NotSupported),
            new(FuseOpcode.SyncFs, "SYNCFS", 8, FuseDispatcher.SyncFs),
            new(FuseOpcode.TmpFile, "TMPFILE", FuseCreateIn.Size + 1, FuseDispatcher.NotSupported),
            new(FuseOpcode.Statx, "STATX", 24, FuseDispatcher.NotSupported),
            new(FuseOpcode.CopyFileRange64, "COPY_FILE_RANGE_64", FuseCopyFileRangeIn.Size, FuseDispatcher.CopyFileRange64),
        ];
        var table = new OpcodeInfo?[rows.Max(r => (int)r.Opcode) + 1];
        foreach (var row in rows)
        {
            if (table[(int)row.Opcode] is not null) throw new InvalidOperationException($"duplicate row for {row.Opcode}");
            table[(int)row.Opcode] = row;
        }
        return table;
    }
}
