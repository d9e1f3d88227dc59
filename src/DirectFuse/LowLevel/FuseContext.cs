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

    public ulong Unique { get; }
    public uint Uid { get; }
    public uint Gid { get; }
    /// <summary>The calling thread's pid; 0 for requests the kernel makes on its own (writeback, forget).</summary>
    public uint Pid { get; }
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

    public override string ToString() => $"uid={Uid} gid={Gid} pid={Pid}";
}
