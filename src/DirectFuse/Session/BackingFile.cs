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

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0) _core.CloseBackingFile(Id);
    }

    public override string ToString() => $"backing file {Id}";
}
