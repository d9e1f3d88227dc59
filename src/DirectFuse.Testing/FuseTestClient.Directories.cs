using System.Text;
using DirectFuse.Testing.Wire;
using static DirectFuse.Testing.Wire.WireReader;

namespace DirectFuse.Testing;

public partial class FuseTestClient
{
    /// <summary>Bytes asked for with each READDIR, as the kernel does (one page).</summary>
    private const int ListingPage = 4096;

    /// <summary>OPENDIR: opens a directory for listing.</summary>
    /// <param name="nodeId">The directory.</param>
    /// <param name="cancellationToken">Interrupts the request.</param>
    /// <returns>The open directory, or the errno.</returns>
    public Task<FuseReply<FuseOpenFile>> OpenDirAsync(ulong nodeId, CancellationToken cancellationToken = default) =>
        CallAsync(Opcodes.OpenDir, nodeId, new WireWriter().U32(ODirectory).U32(0), Describe(Opcodes.OpenDir, nodeId), p => ParseOpen(p), cancellationToken);

    /// <summary>READDIR: one page of a listing, from <paramref name="offset"/> (0, or an entry's <see cref="FuseDirectoryEntry.Offset"/>).</summary>
    /// <param name="nodeId">The directory.</param>
    /// <param name="handle">The open directory's handle.</param>
    /// <param name="offset">Where to continue.</param>
    /// <param name="size">Bytes of fuse_dirent records to ask for.</param>
    /// <param name="cancellationToken">Interrupts the request.</param>
    /// <returns>The entries (none at the end), or the errno.</returns>
    public Task<FuseReply<IReadOnlyList<FuseDirectoryEntry>>> ReadDirAsync(ulong nodeId, ulong handle, long offset, int size = ListingPage, CancellationToken cancellationToken = default)
    {
        var args = new WireWriter().U64(handle).U64((ulong)offset).U32((uint)size).U32(0).U64(0).U32(ODirectory).U32(0);
        return CallAsync<IReadOnlyList<FuseDirectoryEntry>>(Opcodes.ReadDir, nodeId, args, Describe(Opcodes.ReadDir, nodeId, $"of node {nodeId} from offset {offset}"),
            p => ParseListing(p), cancellationToken);
    }

    /// <summary>
    /// Lists a whole directory the way <c>ls</c> does: OPENDIR, READDIR page by page until an empty one,
    /// RELEASEDIR. "." and ".." are included when the file system lists them.
    /// </summary>
    /// <param name="nodeId">The directory.</param>
    /// <param name="cancellationToken">Interrupts the request in flight.</param>
    /// <returns>Every entry in listing order, or the first errno.</returns>
    /// <exception cref="FuseProtocolViolationException">The listing does not advance: an offset comes back, which would list forever.</exception>
    public async Task<FuseReply<IReadOnlyList<FuseDirectoryEntry>>> ReadDirAsync(ulong nodeId, CancellationToken cancellationToken = default)
    {
        string op = $"listing node {nodeId}";
        var open = await OpenDirAsync(nodeId, cancellationToken).ConfigureAwait(false);
        if (!open.TryGetValue(out var dir)) return new FuseReply<IReadOnlyList<FuseDirectoryEntry>>(open.Operation, open.Errno, null);
        try
        {
            var all = new List<FuseDirectoryEntry>();
            var seen = new HashSet<long>();
            long offset = 0;
            while (true)
            {
                var page = await ReadDirAsync(nodeId, dir.Handle, offset, ListingPage, cancellationToken).ConfigureAwait(false);
                if (!page.TryGetValue(out var entries)) return new FuseReply<IReadOnlyList<FuseDirectoryEntry>>(page.Operation, page.Errno, null);
                if (entries.Count == 0) return new FuseReply<IReadOnlyList<FuseDirectoryEntry>>(op, Errno.Ok, all);
                all.AddRange(entries);
                offset = entries[^1].Offset;
                if (!seen.Add(offset))
                    throw new FuseProtocolViolationException(page.Operation, $"the listing returned to offset {offset}: getdents would never reach its end");
            }
        }
        finally
        {
            await ReleaseDirAsync(nodeId, dir.Handle, CancellationToken.None).ConfigureAwait(false);
        }
    }

    /// <summary>RELEASEDIR: closes an open directory.</summary>
    /// <param name="nodeId">The directory.</param>
    /// <param name="handle">The open directory's handle.</param>
    /// <param name="cancellationToken">Interrupts the request.</param>
    /// <returns>Success or the errno.</returns>
    public Task<FuseReply> ReleaseDirAsync(ulong nodeId, ulong handle, CancellationToken cancellationToken = default) =>
        CallEmptyAsync(Opcodes.ReleaseDir, nodeId, new WireWriter().U64(handle).U32(ODirectory).U32(0).U64(0), Describe(Opcodes.ReleaseDir, nodeId), cancellationToken);

    /// <summary>fuse_dirent records (already checked whole by <see cref="ReplyRules.CheckListing"/>).</summary>
    private static List<FuseDirectoryEntry> ParseListing(ReadOnlySpan<byte> payload)
    {
        var entries = new List<FuseDirectoryEntry>();
        while (payload.Length >= DirentHeaderSize)
        {
            int nameLength = (int)U32(payload, 16);
            string name = Encoding.UTF8.GetString(payload.Slice(DirentHeaderSize, nameLength));
            entries.Add(new FuseDirectoryEntry(name, U64(payload, 0), (FuseFileType)U32(payload, 20), (long)U64(payload, 8)));
            payload = payload[Math.Min(payload.Length, (DirentHeaderSize + nameLength + 7) & ~7)..];
        }
        return entries;
    }
}
