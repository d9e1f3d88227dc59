namespace DirectFuse.LowLevel;

/// <summary>
/// Who is asking: the caller's credentials from the request header (as seen in the server's pid and user
/// namespace; 0 or -1 where the kernel cannot map them; the pid is the calling thread's id), the request's
/// unique id, the umask for requests that create nodes, and the file's flags on READ and WRITE.
/// </summary>
public readonly struct FuseContext
{
    public FuseContext(ulong unique, uint uid, uint gid, uint pid, uint umask = 0, int fileFlags = 0)
    {
        Unique = unique;
        Uid = uid;
        Gid = gid;
        Pid = pid;
        Umask = umask;
        FileFlags = fileFlags;
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

    public override string ToString() => $"uid={Uid} gid={Gid} pid={Pid}";
}
