namespace DirectFuse.Protocol;

/// <summary>Request opcodes of the FUSE kernel protocol (include/uapi/linux/fuse.h, 7.45).</summary>
internal enum FuseOpcode : uint
{
    Lookup = 1,
    /// <summary>No reply.</summary>
    Forget = 2,
    GetAttr = 3,
    SetAttr = 4,
    ReadLink = 5,
    SymLink = 6,
    MkNod = 8,
    MkDir = 9,
    Unlink = 10,
    RmDir = 11,
    Rename = 12,
    Link = 13,
    Open = 14,
    Read = 15,
    Write = 16,
    StatFs = 17,
    Release = 18,
    Fsync = 20,
    SetXattr = 21,
    GetXattr = 22,
    ListXattr = 23,
    RemoveXattr = 24,
    Flush = 25,
    Init = 26,
    OpenDir = 27,
    ReadDir = 28,
    ReleaseDir = 29,
    FsyncDir = 30,
    GetLk = 31,
    SetLk = 32,
    SetLkW = 33,
    Access = 34,
    Create = 35,
    Interrupt = 36,
    Bmap = 37,
    Destroy = 38,
    Ioctl = 39,
    Poll = 40,
    /// <summary>The answer to a NOTIFY_RETRIEVE; never replied to.</summary>
    NotifyReply = 41,
    /// <summary>No reply.</summary>
    BatchForget = 42,
    Fallocate = 43,
    ReadDirPlus = 44,
    Rename2 = 45,
    Lseek = 46,
    CopyFileRange = 47,
    SetupMapping = 48,
    RemoveMapping = 49,
    SyncFs = 50,
    TmpFile = 51,
    Statx = 52,
    CopyFileRange64 = 53,

    CuseInit = 4096,
}

/// <summary>Codes of server-to-kernel notifications (sent with <c>unique = 0</c>, code in <c>error</c>).</summary>
internal enum FuseNotifyCode
{
    Poll = 1,
    InvalInode = 2,
    InvalEntry = 3,
    Store = 4,
    Retrieve = 5,
    Delete = 6,
    Resend = 7,
    IncEpoch = 8,
    Prune = 9,
}
