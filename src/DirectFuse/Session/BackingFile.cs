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

    /// <summary>
    /// The kernel's id for the backing file: put it in <see cref="LowLevel.OpenReply.BackingId"/>. Valid until
    /// disposed.
    /// </summary>
    public int Id { get; }

    /// <summary>
    /// True when this process may register backing files: the kernel wants CAP_SYS_ADMIN for
    /// FUSE_DEV_IOC_BACKING_OPEN, so without it passthrough cannot be used (read from /proc/self/status on each call).
    /// </summary>
    public static bool ProcessMayRegister => Interop.Capabilities.HasSysAdmin();

    /// <summary>
    /// Unregisters the backing file (FUSE_DEV_IOC_BACKING_CLOSE). Files already opened with it keep working; later
    /// opens cannot name it. Further calls do nothing.
    /// </summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0) _core.CloseBackingFile(Id);
    }

    /// <summary>The id, for logs.</summary>
    public override string ToString() => $"backing file {Id}";
}
