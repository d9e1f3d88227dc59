using DirectFuse.Interop;

namespace DirectFuse.Testing;

/// <summary>
/// Who makes a request: the effective uid and gid and the thread id the kernel puts in each request header. File
/// systems that check permissions themselves decide on these, so tests send requests as other users with
/// <see cref="FuseTestKernel.As(FuseCaller)"/>.
/// </summary>
/// <param name="Uid">The caller's effective user id.</param>
/// <param name="Gid">The caller's effective group id.</param>
/// <param name="Pid">
/// The calling thread's id. The engine looks a caller's supplementary groups up in /proc/PID/status: 0 (no
/// process) means none, which suits a made-up user; give a real process's id to test with its groups.
/// </param>
public readonly record struct FuseCaller(uint Uid, uint Gid, uint Pid = 0)
{
    /// <summary>Root (uid 0, gid 0), who holds every capability.</summary>
    public static FuseCaller Root => new(0, 0);

    /// <summary>This process's effective uid and gid and its id: the user who would have mounted the file system.</summary>
    public static FuseCaller CurrentProcess => new(Libc.geteuid(), Libc.getegid(), (uint)Environment.ProcessId);

    /// <summary>A user without supplementary groups.</summary>
    /// <param name="uid">The user id.</param>
    /// <param name="gid">The primary group id; the user id when not given.</param>
    public static FuseCaller User(uint uid, uint? gid = null) => new(uid, gid ?? uid);

    /// <inheritdoc/>
    public override string ToString() => $"uid {Uid}, gid {Gid}, pid {Pid}";
}
