namespace DirectFuse.Examples.Loopback;

/// <summary>
/// An O_PATH descriptor of an inode for the length of one operation: the inode's own when it keeps one, or one
/// reopened from its file handle and closed on Dispose. Use with <c>using</c>, and only within the operation.
/// </summary>
internal readonly ref struct PathDescriptor
{
    private readonly bool _owned;

    public PathDescriptor(int fd, bool owned)
    {
        Fd = fd;
        _owned = owned;
    }

    public int Fd { get; }

    public void Dispose()
    {
        if (_owned) NativeMethods.close(Fd);
    }
}
