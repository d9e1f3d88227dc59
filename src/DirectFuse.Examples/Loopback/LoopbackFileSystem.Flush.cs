using System.Collections.Concurrent;
using DirectFuse.LowLevel;

namespace DirectFuse.Examples.Loopback;

// FLUSH: forwarded where the source file system has close-time work, elided (FOPEN_NOFLUSH) where it has none.
public sealed unsafe partial class LoopbackFileSystem
{
    // linux/magic.h: file systems whose file_operations have no ->flush, so closing a duplicate does nothing.
    private const long Ext4Magic = 0xEF53, XfsMagic = 0x58465342, TmpfsMagic = 0x01021994, RamfsMagic = 0x858458F6;

    private readonly ConcurrentDictionary<ulong, bool> _closeIsNoOpByDevice = new();
    private long _servedFlushes;

    /// <summary>FLUSH requests the server answered (none for files opened with FOPEN_NOFLUSH).</summary>
    public long ServedFlushes => Interlocked.Read(ref _servedFlushes);

    /// <summary>True for the file systems whose close(2) is known to do nothing (see <see cref="LoopbackOptions.ElideNoOpFlush"/>).</summary>
    internal static bool CloseIsNoOp(long fileSystemType) =>
        fileSystemType is Ext4Magic or XfsMagic or TmpfsMagic or RamfsMagic;

    /// <summary>The open reply flags that let the kernel skip FLUSH for <paramref name="fd"/>, decided once per source device.</summary>
    private OpenReplyFlags FlushFlags(Inode inode, int fd)
    {
        if (!_options.ElideNoOpFlush) return OpenReplyFlags.None;
        bool noOp = _closeIsNoOpByDevice.GetOrAdd(inode.Dev, static (_, fd) =>
        {
            byte* buffer = stackalloc byte[NativeMethods.StatFsSize];
            return NativeMethods.fstatfs(fd, buffer) == 0 && CloseIsNoOp(*(long*)buffer);
        }, fd);
        return noOp ? OpenReplyFlags.NoFlush : OpenReplyFlags.None;
    }

    public override ValueTask<Errno> FlushAsync(FuseContext context, NodeId node, FileHandle handle, ulong lockOwner, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _servedFlushes);
        // Closing a duplicate gives the source file system its close-time work (NFS writes back, for one)
        // without giving up the descriptor, which lives until RELEASE.
        int dup = NativeMethods.dup(FdOf(handle));
        if (dup < 0) return Done(Errno.Last);
        return Done(NativeMethods.close(dup) < 0 ? Errno.Last : Errno.Ok);
    }
}
