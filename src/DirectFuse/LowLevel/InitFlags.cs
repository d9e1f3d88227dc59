namespace DirectFuse.LowLevel;

/// <summary>
/// The 64-bit capability set negotiated by INIT. The low half travels in <c>flags</c>, the high half in
/// <c>flags2</c>, which the kernel only reads when <see cref="InitExt"/> is set in the reply.
/// </summary>
[Flags]
public enum InitFlags : ulong
{
    /// <summary>No capability.</summary>
    None = 0,
    /// <summary>
    /// FUSE_ASYNC_READ: the kernel may send several READs of one file at once (readahead in parallel).
    /// </summary>
    AsyncRead = 1UL << 0,
    /// <summary>
    /// FUSE_POSIX_LOCKS: the file system serves POSIX record locks (GETLK, SETLK); see
    /// <see cref="LowLevelFileSystem.ServedLocks"/>.
    /// </summary>
    PosixLocks = 1UL << 1,
    /// <summary>FUSE_FILE_OPS: the kernel passes file handles in GETATTR and SETATTR where it has them.</summary>
    FileOps = 1UL << 2,
    /// <summary>
    /// FUSE_ATOMIC_O_TRUNC: OPEN carries O_TRUNC and the file system truncates, instead of a separate SETATTR.
    /// </summary>
    AtomicOTrunc = 1UL << 3,
    /// <summary>FUSE_EXPORT_SUPPORT: the file system answers LOOKUP of "." and ".." (needed for NFS export).</summary>
    ExportSupport = 1UL << 4,
    /// <summary>FUSE_BIG_WRITES: WRITEs larger than a page (always on since 4.20).</summary>
    BigWrites = 1UL << 5,
    /// <summary>
    /// FUSE_DONT_MASK: the kernel does not apply the umask to create modes; the file system does
    /// (<see cref="FuseContext.Umask"/>).
    /// </summary>
    DontMask = 1UL << 6,
    /// <summary>FUSE_SPLICE_WRITE: replies may be spliced to the device.</summary>
    SpliceWrite = 1UL << 7,
    /// <summary>FUSE_SPLICE_MOVE: spliced pages may be moved instead of copied.</summary>
    SpliceMove = 1UL << 8,
    /// <summary>FUSE_SPLICE_READ: requests may be spliced from the device.</summary>
    SpliceRead = 1UL << 9,
    /// <summary>
    /// FUSE_FLOCK_LOCKS: the file system serves flock(2) locks; see <see cref="LowLevelFileSystem.ServedLocks"/>.
    /// </summary>
    FlockLocks = 1UL << 10,
    /// <summary>FUSE_HAS_IOCTL_DIR: ioctls on directories are sent too.</summary>
    HasIoctlDir = 1UL << 11,
    /// <summary>
    /// FUSE_AUTO_INVAL_DATA: the kernel drops cached pages when it sees the file's mtime or size change.
    /// </summary>
    AutoInvalData = 1UL << 12,
    /// <summary>FUSE_DO_READDIRPLUS: the kernel lists directories with READDIRPLUS (names with attributes).</summary>
    DoReaddirplus = 1UL << 13,
    /// <summary>
    /// FUSE_READDIRPLUS_AUTO: the kernel chooses between READDIR and READDIRPLUS by how the listing is used.
    /// </summary>
    ReaddirplusAuto = 1UL << 14,
    /// <summary>FUSE_ASYNC_DIO: direct I/O requests of one caller may be sent in parallel.</summary>
    AsyncDio = 1UL << 15,
    /// <summary>
    /// FUSE_WRITEBACK_CACHE: writes go to the page cache and reach the file system later, in larger WRITEs (the kernel
    /// then keeps mtime and size).
    /// </summary>
    WritebackCache = 1UL << 16,
    /// <summary>FUSE_NO_OPEN_SUPPORT: an ENOSYS answer to OPEN means "no open needed" for all later opens.</summary>
    NoOpenSupport = 1UL << 17,
    /// <summary>FUSE_PARALLEL_DIROPS: LOOKUP and READDIR of one directory may run in parallel.</summary>
    ParallelDirops = 1UL << 18,
    /// <summary>
    /// FUSE_HANDLE_KILLPRIV: the file system drops set-user-ID, set-group-ID and capabilities on write, truncate and
    /// chown itself.
    /// </summary>
    HandleKillpriv = 1UL << 19,
    /// <summary>
    /// FUSE_POSIX_ACL: the kernel enforces POSIX ACLs kept in the system.posix_acl_* extended attributes.
    /// </summary>
    PosixAcl = 1UL << 20,
    /// <summary>FUSE_ABORT_ERROR: after an abort requests fail with ECONNABORTED rather than ENOTCONN.</summary>
    AbortError = 1UL << 21,
    /// <summary>
    /// FUSE_MAX_PAGES: the reply's max_pages sets the largest request (<see cref="FuseConnection.MaxPages"/>).
    /// </summary>
    MaxPages = 1UL << 22,
    /// <summary>FUSE_CACHE_SYMLINKS: the kernel caches READLINK answers.</summary>
    CacheSymlinks = 1UL << 23,
    /// <summary>FUSE_NO_OPENDIR_SUPPORT: an ENOSYS answer to OPENDIR means "no opendir needed" from then on.</summary>
    NoOpendirSupport = 1UL << 24,
    /// <summary>
    /// FUSE_EXPLICIT_INVAL_DATA: cached pages are only dropped when the file system says so (notifications).
    /// </summary>
    ExplicitInvalData = 1UL << 25,
    /// <summary>FUSE_MAP_ALIGNMENT: DAX mappings are aligned as the reply says (virtiofs).</summary>
    MapAlignment = 1UL << 26,
    /// <summary>FUSE_SUBMOUNTS: the file system may mark directories as submount points (virtiofs).</summary>
    Submounts = 1UL << 27,
    /// <summary>
    /// FUSE_HANDLE_KILLPRIV_V2: the kernel says in each WRITE, SETATTR and O_TRUNC OPEN when set-id bits must be
    /// dropped, and the file system drops them.
    /// </summary>
    HandleKillprivV2 = 1UL << 28,
    /// <summary>FUSE_SETXATTR_EXT: SETXATTR carries the extended argument with setxattr flags.</summary>
    SetxattrExt = 1UL << 29,
    /// <summary>FUSE_INIT_EXT: the INIT messages carry the high 32 capability bits (flags2).</summary>
    InitExt = 1UL << 30,
    /// <summary>FUSE_INIT_RESERVED: reserved; never set.</summary>
    InitReserved = 1UL << 31,
    /// <summary>FUSE_SECURITY_CTX: creating requests carry the new node's security context.</summary>
    SecurityCtx = 1UL << 32,
    /// <summary>FUSE_HAS_INODE_DAX: DAX can be chosen per inode (virtiofs).</summary>
    HasInodeDax = 1UL << 33,
    /// <summary>
    /// FUSE_CREATE_SUPP_GROUP: creating requests carry the caller's supplementary group when it decides the new node's
    /// group.
    /// </summary>
    CreateSuppGroup = 1UL << 34,
    /// <summary>FUSE_HAS_EXPIRE_ONLY: entry invalidations may only expire the entry instead of dropping it.</summary>
    HasExpireOnly = 1UL << 35,
    /// <summary>FUSE_DIRECT_IO_ALLOW_MMAP: files opened with direct I/O may still be mapped shared (6.6+).</summary>
    DirectIoAllowMmap = 1UL << 36,
    /// <summary>
    /// FUSE_PASSTHROUGH: opens may hand reads, writes and mmap to a backing file (6.9+; needs CAP_SYS_ADMIN).
    /// </summary>
    Passthrough = 1UL << 37,
    /// <summary>FUSE_NO_EXPORT_SUPPORT: the file system cannot be exported over NFS.</summary>
    NoExportSupport = 1UL << 38,
    /// <summary>FUSE_HAS_RESEND: the kernel can resend pending requests (after a server restart).</summary>
    HasResend = 1UL << 39,
    /// <summary>FUSE_ALLOW_IDMAP: the mount may be id-mapped.</summary>
    AllowIdmap = 1UL << 40,
    /// <summary>FUSE_OVER_IO_URING: requests may be served over io_uring (6.14+).</summary>
    OverIoUring = 1UL << 41,
    /// <summary>
    /// FUSE_REQUEST_TIMEOUT: the reply names a timeout after which the kernel aborts unanswered requests.
    /// </summary>
    RequestTimeout = 1UL << 42,
}
