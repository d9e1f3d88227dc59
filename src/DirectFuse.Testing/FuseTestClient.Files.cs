using DirectFuse.Testing.Wire;
using static DirectFuse.Testing.Wire.WireReader;

namespace DirectFuse.Testing;

public partial class FuseTestClient
{
    /// <summary>O_RDONLY, O_WRONLY, O_RDWR, O_CREAT, O_DIRECTORY: the open flags the helpers send by default.</summary>
    private const int ORdOnly = 0, ORdWr = 2, OCreat = 0x40, ODirectory = 0x10000;

    /// <summary>OPEN: opens a file (open(2) on an existing name).</summary>
    /// <param name="nodeId">The file.</param>
    /// <param name="flags">The open flags (O_RDONLY 0, O_WRONLY 1, O_RDWR 2, O_APPEND 0x400, O_TRUNC 0x200, ...).</param>
    /// <param name="cancellationToken">Interrupts the request.</param>
    /// <returns>The open file, or the errno.</returns>
    public Task<FuseReply<FuseOpenFile>> OpenAsync(ulong nodeId, int flags = ORdOnly, CancellationToken cancellationToken = default) =>
        CallAsync(Opcodes.Open, nodeId, new WireWriter().U32((uint)flags).U32(0), Describe(Opcodes.Open, nodeId), p => ParseOpen(p), cancellationToken);

    /// <summary>CREATE: creates and opens a regular file (open(2) with O_CREAT of a name that does not exist).</summary>
    /// <param name="parentId">The directory to create it in.</param>
    /// <param name="name">Its name.</param>
    /// <param name="mode">Permission bits, as the file system receives them (after the caller's umask); S_IFREG is added.</param>
    /// <param name="flags">The open flags; O_CREAT is always sent.</param>
    /// <param name="cancellationToken">Interrupts the request.</param>
    /// <returns>The new file's entry and the open file, or the errno.</returns>
    public Task<FuseReply<FuseCreatedFile>> CreateAsync(ulong parentId, string name, uint mode = 0x1A4, int flags = ORdWr, CancellationToken cancellationToken = default)
    {
        string op = Describe(Opcodes.Create, parentId, $"{Quote(name)} in node {parentId}");
        // The kernel sends S_IFREG with the permission bits.
        var args = new WireWriter().U32((uint)(flags | OCreat)).U32(0x8000 | (mode & 0xFFF)).U32(0).U32(0).Name(name);
        return CallAsync(Opcodes.Create, parentId, args, op,
            p => new FuseCreatedFile(ParseEntry(p, 0, Opcodes.Create, op), ParseOpen(p.AsSpan(EntryOutSize))), cancellationToken);
    }

    /// <summary>READ: up to <paramref name="size"/> bytes at <paramref name="offset"/> of an open file.</summary>
    /// <param name="nodeId">The file.</param>
    /// <param name="handle">The open file's handle.</param>
    /// <param name="offset">Where to read.</param>
    /// <param name="size">How many bytes at most (the kernel asks for a page or more at a time).</param>
    /// <param name="cancellationToken">Interrupts the request.</param>
    /// <returns>The bytes read (fewer at end of file, none past it), or the errno.</returns>
    public Task<FuseReply<byte[]>> ReadAsync(ulong nodeId, ulong handle, long offset, int size, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(size);
        var args = new WireWriter().U64(handle).U64((ulong)offset).U32((uint)size).U32(0).U64(0).U32(0).U32(0);
        return CallAsync(Opcodes.Read, nodeId, args, Describe(Opcodes.Read, nodeId, $"of {size} bytes at {offset} on node {nodeId}"), p => p, cancellationToken);
    }

    /// <summary>WRITE: writes <paramref name="data"/> at <paramref name="offset"/> of an open file.</summary>
    /// <param name="nodeId">The file.</param>
    /// <param name="handle">The open file's handle.</param>
    /// <param name="offset">Where to write.</param>
    /// <param name="data">The bytes; at most <see cref="FuseTestKernel.MaxWrite"/>.</param>
    /// <param name="cancellationToken">Interrupts the request.</param>
    /// <returns>How many bytes the file system wrote, or the errno.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="data"/> is larger than max_write: the kernel splits such writes.</exception>
    public Task<FuseReply<int>> WriteAsync(ulong nodeId, ulong handle, long offset, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
    {
        if ((uint)data.Length > _connection.MaxWrite)
            throw new ArgumentOutOfRangeException(nameof(data), data.Length, $"A WRITE carries at most max_write ({_connection.MaxWrite}) bytes; the kernel splits larger writes.");
        var args = new WireWriter().U64(handle).U64((ulong)offset).U32((uint)data.Length).U32(0).U64(0).U32(0).U32(0).Bytes(data.Span);
        return CallAsync(Opcodes.Write, nodeId, args, Describe(Opcodes.Write, nodeId, $"of {data.Length} bytes at {offset} on node {nodeId}"),
            p => (int)U32(p, 0), cancellationToken);
    }

    /// <summary>FLUSH: what close(2) sends for each descriptor of an open file.</summary>
    /// <param name="nodeId">The file.</param>
    /// <param name="handle">The open file's handle.</param>
    /// <param name="lockOwner">The closing descriptor table's lock owner (for POSIX locks).</param>
    /// <param name="cancellationToken">Interrupts the request.</param>
    /// <returns>Success or the errno close(2) would return.</returns>
    public Task<FuseReply> FlushAsync(ulong nodeId, ulong handle, ulong lockOwner = 0, CancellationToken cancellationToken = default) =>
        CallEmptyAsync(Opcodes.Flush, nodeId, new WireWriter().U64(handle).U32(0).U32(0).U64(lockOwner), Describe(Opcodes.Flush, nodeId), cancellationToken);

    /// <summary>FSYNC: fsync(2) or fdatasync(2) on an open file.</summary>
    /// <param name="nodeId">The file.</param>
    /// <param name="handle">The open file's handle.</param>
    /// <param name="dataOnly">fdatasync: metadata need not be written.</param>
    /// <param name="cancellationToken">Interrupts the request.</param>
    /// <returns>Success or the errno.</returns>
    public Task<FuseReply> FsyncAsync(ulong nodeId, ulong handle, bool dataOnly = false, CancellationToken cancellationToken = default) =>
        CallEmptyAsync(Opcodes.Fsync, nodeId, new WireWriter().U64(handle).U32(dataOnly ? 1u : 0).U32(0), Describe(Opcodes.Fsync, nodeId), cancellationToken);

    /// <summary>RELEASE: the last reference to an open file is gone.</summary>
    /// <param name="nodeId">The file.</param>
    /// <param name="handle">The open file's handle.</param>
    /// <param name="flags">The flags it was opened with.</param>
    /// <param name="cancellationToken">Interrupts the request.</param>
    /// <returns>Success or the errno (which no caller sees on a mount).</returns>
    public Task<FuseReply> ReleaseAsync(ulong nodeId, ulong handle, int flags = 0, CancellationToken cancellationToken = default) =>
        CallEmptyAsync(Opcodes.Release, nodeId, new WireWriter().U64(handle).U32((uint)flags).U32(0).U64(0), Describe(Opcodes.Release, nodeId), cancellationToken);

    /// <summary>
    /// Reads a whole file the way <c>cat</c> does: looks <paramref name="path"/> up, opens it read-only, reads until
    /// a short read, and releases it.
    /// </summary>
    /// <param name="path">A path relative to the root.</param>
    /// <param name="cancellationToken">Interrupts the request in flight.</param>
    /// <returns>The file's bytes, or the first errno on the way.</returns>
    public async Task<FuseReply<byte[]>> ReadFileAsync(string path, CancellationToken cancellationToken = default)
    {
        const int Chunk = 64 * 1024;
        string op = $"reading {Quote(path)}";
        var entry = await LookupPathAsync(path, cancellationToken).ConfigureAwait(false);
        if (!entry.TryGetValue(out var found)) return new FuseReply<byte[]>(entry.Operation, entry.Errno, null);
        var open = await OpenAsync(found.NodeId, ORdOnly, cancellationToken).ConfigureAwait(false);
        if (!open.TryGetValue(out var file)) return new FuseReply<byte[]>(open.Operation, open.Errno, null);
        try
        {
            using var content = new MemoryStream();
            while (true)
            {
                var read = await ReadAsync(found.NodeId, file.Handle, content.Length, Chunk, cancellationToken).ConfigureAwait(false);
                if (!read.TryGetValue(out var bytes)) return new FuseReply<byte[]>(read.Operation, read.Errno, null);
                content.Write(bytes);
                if (bytes.Length < Chunk) return new FuseReply<byte[]>(op, Errno.Ok, content.ToArray());
            }
        }
        finally
        {
            await ReleaseAsync(found.NodeId, file.Handle, ORdOnly, CancellationToken.None).ConfigureAwait(false);
        }
    }
}
