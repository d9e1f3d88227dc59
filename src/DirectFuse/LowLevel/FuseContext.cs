namespace DirectFuse.LowLevel;

/// <summary>
/// Who is asking: the caller's credentials from the request header (as seen in the server's pid and user
/// namespace; 0 or -1 where the kernel cannot map them; the pid is the calling thread's id), the request's
/// unique id, the umask for requests that create nodes, and the file's flags on READ and WRITE.
/// </summary>
public readonly struct FuseContext
{
    /// <summary>No group: the request carried no supplementary-group extension.</summary>
    internal const uint NoGroup = uint.MaxValue;
    private readonly uint _extensionGroup;

    /// <summary>A context for a request made outside the kernel (tests, a file system calling its own
    /// handlers).</summary>
    /// <param name="unique">The request's id.</param>
    /// <param name="uid">The caller's effective user id.</param>
    /// <param name="gid">The caller's effective group id.</param>
    /// <param name="pid">The calling thread's id.</param>
    /// <param name="umask">The caller's umask, for requests that create nodes.</param>
    /// <param name="fileFlags">The open file's flags, for READ and WRITE.</param>
    public FuseContext(ulong unique, uint uid, uint gid, uint pid, uint umask = 0, int fileFlags = 0)
        : this(unique, uid, gid, pid, umask, fileFlags, NoGroup, killSuidSgid: false)
    {
    }

    internal FuseContext(ulong unique, uint uid, uint gid, uint pid, uint umask, int fileFlags, uint extensionGroup, bool killSuidSgid)
    {
        Unique = unique;
        Uid = uid;
        Gid = gid;
        Pid = pid;
        Umask = umask;
        FileFlags = fileFlags;
        _extensionGroup = extensionGroup;
        KillSuidSgid = killSuidSgid;
    }

    /// <summary>The request's unique id, as in the kernel's header: what debug logs and INTERRUPT name.</summary>
    public ulong Unique { get; }
    /// <summary>The caller's effective user id (its fsuid).</summary>
    public uint Uid { get; }
    /// <summary>The caller's effective group id (its fsgid).</summary>
    public uint Gid { get; }
    /// <summary>The calling thread's pid; 0 for requests the kernel makes on its own (writeback, forget).</summary>
    public uint Pid { get; }
    /// <summary>
    /// The caller's umask on MKNOD, MKDIR and CREATE (with FUSE_DONT_MASK negotiated, the file system applies it); 0
    /// otherwise.
    /// </summary>
    public uint Umask { get; }
    /// <summary>
    /// On READ and WRITE: the open file's flags as they are now (O_NONBLOCK, O_APPEND, ... including changes by
    /// fcntl(F_SETFL) after open); 0 on other requests.
    /// </summary>
    public int FileFlags { get; }

    /// <summary>
    /// On OPEN and CREATE with O_TRUNC, when <see cref="LowLevel.InitFlags.HandleKillprivV2"/> is negotiated: the
    /// caller lacks CAP_FSETID, so emptying the file must also drop its set-user-ID bit (and set-group-ID when
    /// group-executable), as truncate(2) does.
    /// </summary>
    public bool KillSuidSgid { get; }

    /// <summary>
    /// Whether the caller is a member of group <paramref name="gid"/>: its effective group, the group the kernel
    /// vouched for in the request (the supplementary-group extension of creating requests), or one of the
    /// calling thread's supplementary groups as <c>/proc/PID/status</c> lists them (as libfuse's
    /// <c>fuse_req_getgroups</c>). The last costs a read of /proc, so test cheaper rules first; a caller that is
    /// gone, or in a pid namespace the server cannot see (pid 0), has no supplementary groups.
    /// </summary>
    public bool IsInGroup(uint gid) =>
        gid == Gid || (_extensionGroup != NoGroup && gid == _extensionGroup) || CallerGroups.Contains(Pid, gid);

    /// <summary>The caller's uid, gid and pid, for logs.</summary>
    public override string ToString() => $"uid={Uid} gid={Gid} pid={Pid}";
}
