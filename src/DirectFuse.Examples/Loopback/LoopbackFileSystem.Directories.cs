using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using DirectFuse.LowLevel;

namespace DirectFuse.Examples.Loopback;

// Directory handles and listings, read with getdents64 straight from the source directory.
public sealed unsafe partial class LoopbackFileSystem
{
    private readonly ConcurrentDictionary<ulong, DirectoryHandle> _directories = new();
    private long _nextDirectoryHandle;

    /// <summary>An open source directory and the getdents64 batch being handed out.</summary>
    private sealed class DirectoryHandle(int fd)
    {
        public readonly int Fd = fd;
        public readonly byte[] Buffer = new byte[32 * 1024];
        public int Position, Length;
        /// <summary>The directory offset of the entry at <see cref="Position"/> (0 before the first).</summary>
        public long Offset;
    }

    public override ValueTask<Result<OpenReply>> OpenDirAsync(FuseContext context, NodeId node, int flags, CancellationToken cancellationToken)
    {
        var dir = InodeOf(node);
        int fd = Reopen(dir, NativeMethods.O_RDONLY | NativeMethods.O_DIRECTORY);
        if (fd < 0) return Done<OpenReply>(Errno.Last);
        ulong id = (ulong)Interlocked.Increment(ref _nextDirectoryHandle);
        _directories[id] = new DirectoryHandle(fd);
        return Done<OpenReply>(new OpenReply(new FileHandle(id), ListingCacheFlags(dir, fd)));
    }

    public override ValueTask<Errno> ReadDirAsync(FuseContext context, NodeId node, FileHandle handle, long offset, DirectoryBuffer buffer, CancellationToken cancellationToken)
    {
        if (!_directories.TryGetValue(handle.Value, out var d)) return Done(Errno.EBADF);
        Interlocked.Increment(ref _servedListingRequests);
        var dir = InodeOf(node);
        lock (d)
        {
            if (offset != d.Offset)
            {
                // A seek, or the kernel asking again from an entry we handed out but it could not take.
                if (NativeMethods.lseek(d.Fd, offset, NativeMethods.SEEK_SET) < 0) return Done(Errno.Last);
                d.Position = d.Length = 0;
                d.Offset = offset;
            }
            fixed (byte* batch = d.Buffer)
            {
                while (true)
                {
                    if (d.Position >= d.Length)
                    {
                        nint n = NativeMethods.getdents64(d.Fd, batch, d.Buffer.Length);
                        if (n < 0)
                        {
                            var errno = Errno.Last;
                            if (buffer.Count == 0) return Done(errno);
                            break;
                        }
                        if (n == 0) break; // end of directory
                        d.Position = 0;
                        d.Length = (int)n;
                    }
                    // struct linux_dirent64 { u64 d_ino; s64 d_off; u16 d_reclen; u8 d_type; char d_name[]; }
                    byte* entry = batch + d.Position;
                    ulong ino = *(ulong*)entry;
                    long next = *(long*)(entry + 8);
                    ushort recordLength = *(ushort*)(entry + 16);
                    uint mode = (uint)entry[18] << 12;
                    byte* namePtr = entry + 19;
                    var name = MemoryMarshal.CreateReadOnlySpanFromNullTerminated(namePtr);
                    if (!AddEntry(buffer, dir, name, namePtr, ino, mode, next)) break;
                    d.Position += recordLength;
                    d.Offset = next;
                }
            }
        }
        return Done(Errno.Ok);
    }

    private bool AddEntry(DirectoryBuffer buffer, Inode dir, ReadOnlySpan<byte> name, byte* zeroTerminatedName, ulong ino, uint mode, long next)
    {
        bool dots = name.SequenceEqual("."u8) || name.SequenceEqual(".."u8);
        if (!buffer.IsPlus || dots) return buffer.TryAdd(name, ino, mode, next);
        // READDIRPLUS: each entry is a lookup, counted only if it makes it into the reply.
        if (!DoLookup(dir, zeroTerminatedName).TryGetValue(out var entry))
            return buffer.TryAdd(name, ino, mode, next); // Gone in between: a plain entry without attributes.
        if (buffer.TryAddPlus(name, entry, next)) return true;
        _inodes.Forget(entry.NodeId.Value, 1);
        return false;
    }

    public override ValueTask<Errno> ReleaseDirAsync(FuseContext context, NodeId node, FileHandle handle, int flags, CancellationToken cancellationToken)
    {
        if (_directories.TryRemove(handle.Value, out var d)) NativeMethods.close(d.Fd);
        return Done(Errno.Ok);
    }

    public override ValueTask<Errno> FsyncDirAsync(FuseContext context, NodeId node, FileHandle handle, bool dataOnly, CancellationToken cancellationToken)
    {
        if (!_directories.TryGetValue(handle.Value, out var d)) return Done(Errno.EBADF);
        int rc = dataOnly ? NativeMethods.fdatasync(d.Fd) : NativeMethods.fsync(d.Fd);
        return Done(rc < 0 ? Errno.Last : Errno.Ok);
    }
}
