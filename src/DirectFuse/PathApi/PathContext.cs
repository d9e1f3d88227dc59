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

    /// <inheritdoc/>
    public override string ToString() => Fuse.ToString();
}
