using DirectFuse.LowLevel;

namespace DirectFuse.PathApi;

/// <summary>
/// Who is asking and whether they still are: the caller's credentials (as in <see cref="FuseContext"/>) and a
/// token that is cancelled when the caller is interrupted by a signal. Passed as the last argument of every
/// <see cref="PathFileSystem"/> call, so handlers need no ambient state (libfuse's <c>fuse_get_context()</c>).
/// </summary>
public readonly struct PathContext
{
    /// <summary>Creates a context, e.g. to call a <see cref="PathFileSystem"/> directly in a unit test.</summary>
    public PathContext(uint uid, uint gid, uint pid, uint umask = 0, CancellationToken cancellationToken = default)
        : this(new FuseContext(0, uid, gid, pid, umask), cancellationToken)
    {
    }

    internal PathContext(in FuseContext fuse, CancellationToken cancellationToken)
    {
        Fuse = fuse;
        CancellationToken = cancellationToken;
    }

    /// <summary>The low-level request context these values come from.</summary>
    public FuseContext Fuse { get; }

    /// <summary>The caller's effective user id.</summary>
    public uint Uid => Fuse.Uid;

    /// <summary>The caller's effective group id.</summary>
    public uint Gid => Fuse.Gid;

    /// <summary>The calling thread's pid; 0 for requests the kernel makes on its own.</summary>
    public uint Pid => Fuse.Pid;

    /// <summary>The caller's umask for calls that create nodes (the kernel has already applied it to the mode).</summary>
    public uint Umask => Fuse.Umask;

    /// <summary>Cancelled when the kernel interrupts the request; an <see cref="OperationCanceledException"/> then answers EINTR.</summary>
    public CancellationToken CancellationToken { get; }

    /// <summary>Whether the caller is in group <paramref name="gid"/>, supplementary groups included (see <see cref="FuseContext.IsInGroup"/>).</summary>
    public bool IsInGroup(uint gid) => Fuse.IsInGroup(gid);

    // Linux's permission rules in one call each, for path file systems that keep owners and modes (see
    // Permissions for the rules and for uid 0).

    /// <summary>EACCES unless the caller may <paramref name="wanted"/> the node with attributes <paramref name="attr"/>.</summary>
    public Errno CheckAccess(in FileAttr attr, AccessMode wanted) => Permissions.CheckAccess(Fuse, Ownership.Of(attr), wanted);

    /// <summary>For <see cref="PathFileSystem.OpenAsync"/>: EACCES unless the caller may open the node with open(2) <paramref name="flags"/>.</summary>
    public Errno CheckOpen(in FileAttr attr, int flags) => CheckAccess(attr, Permissions.ForOpen(flags));

    /// <summary>For creating calls: EACCES unless the caller may add names to <paramref name="directory"/>.</summary>
    public Errno CheckCreate(in FileAttr directory) => Permissions.CheckCreate(Fuse, Ownership.Of(directory));

    /// <summary>For unlink, rmdir and both ends of rename: EACCES or, in a sticky directory, EPERM unless the caller may remove <paramref name="victim"/>'s name.</summary>
    public Errno CheckRemove(in FileAttr directory, in FileAttr victim) => Permissions.CheckRemove(Fuse, Ownership.Of(directory), Ownership.Of(victim));

    /// <summary>
    /// For <see cref="PathFileSystem.ChmodAsync"/>: EPERM unless the caller owns the node. The path adapter
    /// leaves clearing set-ID bits after a write to the kernel, which does it with a chmod in the writer's
    /// name, so a chmod that only clears set-ID bits is also allowed to a caller with write permission — no
    /// more than that caller could do by writing to the file.
    /// </summary>
    public Errno CheckChmod(in FileAttr attr, uint mode)
    {
        var node = Ownership.Of(attr);
        if (Permissions.IsOwnerOrPrivileged(Fuse, node)) return Errno.Ok;
        const uint SetIdBits = StatMode.SetUid | StatMode.SetGid;
        bool sameOtherBits = ((mode | SetIdBits) & 0xFFF) == ((attr.Mode | SetIdBits) & 0xFFF);
        bool onlyClearsSetId = sameOtherBits && (mode & ~attr.Mode & SetIdBits) == 0 && (attr.Mode & ~mode & SetIdBits) != 0;
        return onlyClearsSetId && Permissions.MayAccess(Fuse, node, AccessMode.Write) ? Errno.Ok : Errno.EPERM;
    }

    /// <summary>The mode bits a permitted chmod to <paramref name="mode"/> sets: set-group-ID only for members of the file's group (or root).</summary>
    public uint ModeAfterChmod(in FileAttr attr, uint mode) =>
        Permissions.ModeAfterSetAttr(Fuse, Ownership.Of(attr), new SetAttrRequest { Valid = LowLevel.SetAttrFields.Mode, Mode = mode }) & 0xFFF;

    /// <summary>For <see cref="PathFileSystem.ChownAsync"/>: EPERM unless the change is one chown(2) allows the caller.</summary>
    public Errno CheckChown(in FileAttr attr, uint? uid, uint? gid)
    {
        var request = new SetAttrRequest();
        if (uid is { } u) { request.Valid |= LowLevel.SetAttrFields.Uid; request.Uid = u; }
        if (gid is { } g) { request.Valid |= LowLevel.SetAttrFields.Gid; request.Gid = g; }
        return Permissions.CheckSetAttr(Fuse, Ownership.Of(attr), request);
    }

    /// <summary>
    /// On <see cref="PathFileSystem.UtimensAsync"/>: both times are being set to the current time (utimes(NULL),
    /// or UTIME_NOW for both), which needs only write permission; false on other calls.
    /// </summary>
    public bool SetsBothTimesToNow { get; init; }

    /// <summary>
    /// For <see cref="PathFileSystem.UtimensAsync"/>: the owner may set any times, others only both to the
    /// current time (<see cref="SetsBothTimesToNow"/>) with write permission (EACCES), nothing else (EPERM).
    /// </summary>
    public Errno CheckUtimens(in FileAttr attr)
    {
        var node = Ownership.Of(attr);
        if (Permissions.IsOwnerOrPrivileged(Fuse, node)) return Errno.Ok;
        if (!SetsBothTimesToNow) return Errno.EPERM;
        return Permissions.CheckAccess(Fuse, node, AccessMode.Write);
    }

    /// <summary>For <see cref="PathFileSystem.TruncateAsync"/>: truncate(2) by path needs write permission (EACCES); with a handle, open checked it.</summary>
    public Errno CheckTruncate(in FileAttr attr, FileHandle? handle) =>
        handle is null ? CheckAccess(attr, AccessMode.Write) : Errno.Ok;

    /// <inheritdoc/>
    public override string ToString() => Fuse.ToString();
}
