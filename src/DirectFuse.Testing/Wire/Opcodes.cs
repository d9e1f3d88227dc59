namespace DirectFuse.Testing.Wire;

/// <summary>
/// FUSE opcode numbers, written down here from the kernel's fuse.h rather than taken from the engine, so that
/// the kit checks the engine as much as the file system.
/// </summary>
internal static class Opcodes
{
    public const uint Lookup = 1, Forget = 2, GetAttr = 3, SetAttr = 4, ReadLink = 5, SymLink = 6, MkNod = 8, MkDir = 9,
        Unlink = 10, RmDir = 11, Rename = 12, Link = 13, Open = 14, Read = 15, Write = 16, StatFs = 17, Release = 18,
        Fsync = 20, SetXattr = 21, GetXattr = 22, ListXattr = 23, RemoveXattr = 24, Flush = 25, Init = 26, OpenDir = 27,
        ReadDir = 28, ReleaseDir = 29, FsyncDir = 30, GetLk = 31, SetLk = 32, SetLkW = 33, Access = 34, Create = 35,
        Interrupt = 36, Bmap = 37, Destroy = 38, Ioctl = 39, Poll = 40, NotifyReply = 41, BatchForget = 42, Fallocate = 43,
        ReadDirPlus = 44, Rename2 = 45, Lseek = 46, CopyFileRange = 47, SetupMapping = 48, RemoveMapping = 49, SyncFs = 50,
        TmpFile = 51, Statx = 52, CopyFileRange64 = 53;

    public static string NameOf(uint opcode) => opcode switch
    {
        Lookup => "LOOKUP", Forget => "FORGET", GetAttr => "GETATTR", SetAttr => "SETATTR", ReadLink => "READLINK",
        SymLink => "SYMLINK", MkNod => "MKNOD", MkDir => "MKDIR", Unlink => "UNLINK", RmDir => "RMDIR", Rename => "RENAME",
        Link => "LINK", Open => "OPEN", Read => "READ", Write => "WRITE", StatFs => "STATFS", Release => "RELEASE",
        Fsync => "FSYNC", SetXattr => "SETXATTR", GetXattr => "GETXATTR", ListXattr => "LISTXATTR", RemoveXattr => "REMOVEXATTR",
        Flush => "FLUSH", Init => "INIT", OpenDir => "OPENDIR", ReadDir => "READDIR", ReleaseDir => "RELEASEDIR",
        FsyncDir => "FSYNCDIR", GetLk => "GETLK", SetLk => "SETLK", SetLkW => "SETLKW", Access => "ACCESS", Create => "CREATE",
        Interrupt => "INTERRUPT", Bmap => "BMAP", Destroy => "DESTROY", Ioctl => "IOCTL", Poll => "POLL",
        NotifyReply => "NOTIFY_REPLY", BatchForget => "BATCH_FORGET", Fallocate => "FALLOCATE", ReadDirPlus => "READDIRPLUS",
        Rename2 => "RENAME2", Lseek => "LSEEK", CopyFileRange => "COPY_FILE_RANGE", SetupMapping => "SETUPMAPPING",
        RemoveMapping => "REMOVEMAPPING", SyncFs => "SYNCFS", TmpFile => "TMPFILE", Statx => "STATX",
        CopyFileRange64 => "COPY_FILE_RANGE_64",
        _ => $"OPCODE_{opcode}",
    };

    /// <summary>Requests the kernel never waits an answer for.</summary>
    public static bool TakesNoReply(uint opcode) => opcode is Forget or BatchForget or Interrupt or NotifyReply;
}
