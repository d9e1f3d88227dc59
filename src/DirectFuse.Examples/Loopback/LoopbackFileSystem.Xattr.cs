using DirectFuse.LowLevel;

namespace DirectFuse.Examples.Loopback;

// Extended attributes. The f*xattr calls refuse O_PATH descriptors, so they go through /proc/self/fd/N, which
// names the inode itself. For a symlink that path leads to the target, and there is no race-free way to reach
// the link's own attributes: the *xattrat calls (Linux 6.13) with AT_EMPTY_PATH turn into f*xattr on the
// descriptor, which refuse O_PATH (EBADF), and a symlink cannot be opened otherwise. Symlinks answer
// EOPNOTSUPP ("no extended attributes here"), which cp -a and getfattr take quietly.
public sealed unsafe partial class LoopbackFileSystem
{
    public override ValueTask<Errno> SetXattrAsync(FuseContext context, NodeId node, FileName name, ReadOnlyMemory<byte> value, int flags, CancellationToken cancellationToken)
    {
        if (!_options.Xattrs) return Done(Errno.ENOSYS);
        var inode = InodeOf(node);
        if (inode.IsSymlink) return Done(Errno.EOPNOTSUPP);
        Span<byte> z = stackalloc byte[name.Length + 1];
        Terminate(name, z);
        fixed (byte* n = z)
        fixed (byte* v = value.Span)
        {
            Span<byte> proc = stackalloc byte[ProcPathSize];
            using var descriptor = inode.Path();
            ProcPath(descriptor.Fd, proc);
            fixed (byte* path = proc)
                return Done(NativeMethods.setxattr(path, n, v, value.Length, flags) < 0 ? Errno.Last : Errno.Ok);
        }
    }

    public override ValueTask<Result<int>> GetXattrAsync(FuseContext context, NodeId node, FileName name, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        if (!_options.Xattrs) return Done<int>(Errno.ENOSYS);
        var inode = InodeOf(node);
        if (inode.IsSymlink) return Done<int>(Errno.EOPNOTSUPP);
        Span<byte> z = stackalloc byte[name.Length + 1];
        Terminate(name, z);
        fixed (byte* n = z)
        fixed (byte* b = buffer.Span)
        {
            nint size;
            Span<byte> proc = stackalloc byte[ProcPathSize];
            using var descriptor = inode.Path();
            ProcPath(descriptor.Fd, proc);
            fixed (byte* path = proc) size = NativeMethods.getxattr(path, n, b, buffer.Length);
            return Done<int>(size < 0 ? Errno.Last : (int)size);
        }
    }

    public override ValueTask<Result<int>> ListXattrAsync(FuseContext context, NodeId node, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        if (!_options.Xattrs) return Done<int>(Errno.ENOSYS);
        var inode = InodeOf(node);
        if (inode.IsSymlink) return Done<int>(Errno.EOPNOTSUPP);
        fixed (byte* b = buffer.Span)
        {
            nint size;
            Span<byte> proc = stackalloc byte[ProcPathSize];
            using var descriptor = inode.Path();
            ProcPath(descriptor.Fd, proc);
            fixed (byte* path = proc) size = NativeMethods.listxattr(path, b, buffer.Length);
            return Done<int>(size < 0 ? Errno.Last : (int)size);
        }
    }

    public override ValueTask<Errno> RemoveXattrAsync(FuseContext context, NodeId node, FileName name, CancellationToken cancellationToken)
    {
        if (!_options.Xattrs) return Done(Errno.ENOSYS);
        var inode = InodeOf(node);
        if (inode.IsSymlink) return Done(Errno.EOPNOTSUPP);
        Span<byte> z = stackalloc byte[name.Length + 1];
        Terminate(name, z);
        fixed (byte* n = z)
        {
            Span<byte> proc = stackalloc byte[ProcPathSize];
            using var descriptor = inode.Path();
            ProcPath(descriptor.Fd, proc);
            fixed (byte* path = proc)
                return Done(NativeMethods.removexattr(path, n) < 0 ? Errno.Last : Errno.Ok);
        }
    }
}
