namespace DirectFuse.Examples.Loopback;

/// <summary>
/// File handles (name_to_handle_at / open_by_handle_at) of the source's file system: the way to keep an inode
/// the kernel knows without keeping a descriptor open for it, as virtiofsd does. Reopening needs
/// CAP_DAC_READ_SEARCH and a file system that exports handles (ext4, XFS, btrfs, tmpfs...), and works only
/// within the source's own mount; <see cref="TryCreate"/> checks all of that once and gives null otherwise.
/// </summary>
internal sealed unsafe class FileHandles : IDisposable
{
    private readonly int _mountFd;
    private readonly int _mountId;

    private FileHandles(int mountFd, int mountId)
    {
        _mountFd = mountFd;
        _mountId = mountId;
    }

    /// <summary>Handles for the source whose root is <paramref name="rootFd"/> (O_PATH), or null if they cannot be used here.</summary>
    public static FileHandles? TryCreate(int rootFd)
    {
        // open_by_handle_at needs a real descriptor of the mount (it refuses O_PATH ones).
        Span<byte> proc = stackalloc byte[32];
        "/proc/self/fd/"u8.CopyTo(proc);
        rootFd.TryFormat(proc[14..], out int n, provider: System.Globalization.CultureInfo.InvariantCulture);
        proc[14 + n] = 0;
        int mountFd;
        fixed (byte* p = proc) mountFd = NativeMethods.openat(NativeMethods.AT_FDCWD, p, NativeMethods.O_RDONLY | NativeMethods.O_DIRECTORY | NativeMethods.O_CLOEXEC, 0);
        if (mountFd < 0) return null;
        var handles = new FileHandles(mountFd, MountIdOf(rootFd));
        // One round trip proves the privilege and the file system's support.
        var rootHandle = handles.HandleOf(rootFd);
        int probe = rootHandle is null ? -1 : handles.Open(rootHandle);
        if (probe < 0)
        {
            handles.Dispose();
            return null;
        }
        NativeMethods.close(probe);
        return handles;
    }

    /// <summary>The handle of the inode <paramref name="fd"/> refers to, or null if it has none or lies on another mount.</summary>
    public byte[]? HandleOf(int fd)
    {
        byte* buffer = stackalloc byte[8 + NativeMethods.MAX_HANDLE_SZ];
        *(uint*)buffer = NativeMethods.MAX_HANDLE_SZ;
        int mountId;
        if (NativeMethods.name_to_handle_at(fd, LoopbackFileSystem.EmptyPath, buffer, &mountId, NativeMethods.AT_EMPTY_PATH) < 0) return null;
        // A handle means nothing outside the mount it came from (a file system mounted below the source).
        if (mountId != _mountId) return null;
        int length = 8 + (int)*(uint*)buffer;
        return new ReadOnlySpan<byte>(buffer, length).ToArray();
    }

    /// <summary>An O_PATH descriptor of the inode behind <paramref name="handle"/>, or -1 with errno (ESTALE once it is gone).</summary>
    public int Open(byte[] handle)
    {
        fixed (byte* h = handle) return NativeMethods.open_by_handle_at(_mountFd, h, NativeMethods.O_PATH | NativeMethods.O_NOFOLLOW | NativeMethods.O_CLOEXEC);
    }

    private static int MountIdOf(int fd)
    {
        byte* buffer = stackalloc byte[8 + NativeMethods.MAX_HANDLE_SZ];
        *(uint*)buffer = NativeMethods.MAX_HANDLE_SZ;
        int mountId = -1;
        NativeMethods.name_to_handle_at(fd, LoopbackFileSystem.EmptyPath, buffer, &mountId, NativeMethods.AT_EMPTY_PATH);
        return mountId;
    }

    public void Dispose() => NativeMethods.close(_mountFd);
}
