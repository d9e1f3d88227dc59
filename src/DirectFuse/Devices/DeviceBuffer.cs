using DirectFuse.DirectMmap;

namespace DirectFuse.Devices;

/// <summary>
/// Memory a device shares with clients through mmap(2): one region of a direct-mmap address space (a sealed
/// memfd the server maps). How clients reach it is up to the FUSE host's <see cref="DirectMmapMode"/>:
/// </summary>
/// <remarks>
/// <para><b>Passthrough</b> (CAP_SYS_ADMIN, Linux 6.9+): the memfd is the open's backing file; clients map the
/// very pages the server reads through <see cref="Span"/>: zero copy, no requests. read(2) and write(2) of that
/// open go to the memfd as well and never reach the device.</para>
/// <para><b>PageCache</b> (no privilege): the open is direct I/O with FUSE_DIRECT_IO_ALLOW_MMAP, so write(2)
/// still reaches the device while a mapping is served from the page cache (faults are READs of the buffer).
/// Client stores sit in the kernel's page cache until written back; <see cref="PullAsync"/> fetches them
/// (NOTIFY_RETRIEVE) before the server reads a range. Kernels before 6.6 (no FUSE_DIRECT_IO_ALLOW_MMAP) cannot
/// map a direct-I/O file, so there the opens that map the buffer are cached, write-through opens instead: their
/// write(2) still reaches the device, but their read(2) returns the buffer, as in passthrough mode.</para>
/// </remarks>
public sealed class DeviceBuffer : IDisposable
{
    private readonly MmapAddressSpace _space;
    private Func<long, long, Memory<byte>, Action<long, ReadOnlyMemory<byte>>, CancellationToken, Task<bool>>? _retrieve;
    private byte[]? _pullScratch;
    private readonly SemaphoreSlim _pullLock = new(1, 1);

    /// <param name="size">Bytes; rounded up to whole pages.</param>
    public DeviceBuffer(long size)
    {
        long page = MmapAddressSpace.PageSize;
        long rounded = (size + page - 1) / page * page;
        _space = new MmapAddressSpace(new MmapAddressSpaceOptions { Quota = rounded, MaxRegionSize = rounded });
        Region = _space.CreateRegion(rounded, offset: 0, shareKey: "device-buffer");
    }

    /// <summary>The region behind the buffer.</summary>
    public MmapRegion Region { get; }
    /// <summary>The buffer's length in bytes: the requested size rounded up to whole pages.</summary>
    public long Size => Region.Size;
    /// <summary>The buffer in the server's memory.</summary>
    public Span<byte> Span => Region.Span;
    /// <summary>How clients reach the buffer; set by the host at INIT (None until then, and on CUSE).</summary>
    public DirectMmapMode Mode { get; internal set; } = DirectMmapMode.None;

    internal void AttachPageCache(Func<long, long, Memory<byte>, Action<long, ReadOnlyMemory<byte>>, CancellationToken, Task<bool>> retrieve)
    {
        _retrieve = retrieve;
        Mode = DirectMmapMode.PageCache;
    }

    internal void Detach()
    {
        _retrieve = null;
    }

    /// <summary>
    /// Makes <see cref="Span"/> hold what clients stored in [<paramref name="offset"/>, +<paramref name="length"/>).
    /// Page-cache mode asks the kernel for its cached pages of the range (pages it does not cache were
    /// written back already, or never touched); passthrough mode has nothing to do.
    /// </summary>
    public async Task PullAsync(long offset, int length, CancellationToken cancellationToken = default)
    {
        var retrieve = _retrieve;
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        if (Mode != DirectMmapMode.PageCache || retrieve is null || length <= 0 || offset >= Size) return;
        // Size - offset, not offset + length: no sum that can wrap.
        long end = offset + Math.Min(length, Size - offset);
        await _pullLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            _pullScratch ??= new byte[Size];
            // False: the kernel has no inode (nobody has the device open), so nothing is cached.
            await retrieve(offset, end - offset, _pullScratch, (at, data) => data.Span.CopyTo(Region.GetSpan(at, data.Length)), cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _pullLock.Release();
        }
    }

    /// <summary>Writes back of the client's page cache (FUSE page-cache mode) land here.</summary>
    internal int StoreFromKernel(long offset, ReadOnlySpan<byte> data)
    {
        // Negative: an offset of 2^63 or more that reached us as a long; nothing of the buffer is there.
        if (offset < 0 || offset >= Size) return 0;
        int n = (int)Math.Min(data.Length, Size - offset);
        data[..n].CopyTo(Region.GetSpan(offset, n));
        return n;
    }

    /// <summary>A page fault (or read) served from the buffer (FUSE page-cache mode).</summary>
    internal int LoadForKernel(long offset, Span<byte> destination)
    {
        if (offset < 0 || offset >= Size) return 0;
        int n = (int)Math.Min(destination.Length, Size - offset);
        Region.GetSpan(offset, n).CopyTo(destination);
        return n;
    }

    /// <summary>
    /// Unmaps the buffer and closes its memfd. Clients that mapped it keep their pages; dispose only after the host
    /// stopped serving.
    /// </summary>
    public void Dispose()
    {
        _space.Dispose();
        _pullLock.Dispose();
    }
}
