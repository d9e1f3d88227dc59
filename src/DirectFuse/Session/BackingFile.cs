namespace DirectFuse.Session;

/// <summary>
/// A file registered with the kernel for passthrough (FUSE_DEV_IOC_BACKING_OPEN). Answer an OPEN with
/// <see cref="LowLevel.OpenReplyFlags.Passthrough"/> and <see cref="Id"/> and the client's reads, writes and
/// mmaps go straight to this file. Disposing drops the id; files already open on it keep working.
/// </summary>
public sealed class BackingFile : IDisposable
{
    private readonly FuseSessionCore _core;
    private int _disposed;

    internal BackingFile(FuseSessionCore core, int id)
    {
        _core = core;
        Id = id;
    }

    public int Id { get; }

    /// <summary>
    /// True when this process may register backing files: the kernel wants CAP_SYS_ADMIN for
    /// FUSE_DEV_IOC_BACKING_OPEN, so without it passthrough cannot be used (read from /proc/self/status on each call).
    /// </summary>
    public static bool ProcessMayRegister => Interop.Capabilities.HasSysAdmin();

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0) _core.CloseBackingFile(Id);
    }

    public override string ToString() => $"backing file {Id}";
}
