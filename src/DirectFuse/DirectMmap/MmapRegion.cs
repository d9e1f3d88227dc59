using DirectFuse.Interop;
using Microsoft.Win32.SafeHandles;

namespace DirectFuse.DirectMmap;

/// <summary>
/// One region of a session's direct-mmap address space: a sealed, sparse memfd of fixed size that the server
/// maps into its own memory and hands to clients. Pages are allocated on first touch by either side.
/// </summary>
/// <remarks>
/// The memfd is sealed against growing and shrinking, so no client can resize it (a pwrite past the end
/// fails with EPERM, ftruncate with EPERM) and the server can never take SIGBUS from a shrunken region.
/// Disposing the region (through <see cref="MmapAddressSpace.Destroy"/>) drops the server's mapping and fd;
/// clients that still map it keep their pages until they unmap.
/// </remarks>
public sealed unsafe class MmapRegion
{
    private readonly MmapAddressSpace _space;
    private SafeFileHandle? _memfd;
    private nint _address;
    private int _clientOpens;
    private int _serverHandles;

    internal MmapRegion(MmapAddressSpace space, long offset, long size, long length, string? shareKey, SafeFileHandle memfd, nint address)
    {
        _space = space;
        Offset = offset;
        Size = size;
        Length = length;
        ShareKey = shareKey;
        _memfd = memfd;
        _address = address;
    }

    /// <summary>Where the region starts in the address space (a multiple of the page size).</summary>
    public long Offset { get; }
    /// <summary>The region's extent in the address space and its share of the quota (a page multiple).</summary>
    public long Size { get; }
    /// <summary>
    /// The memfd's length: what clients see as the file size, and the bytes the server may touch. Equal to
    /// <see cref="Size"/> unless the region backs a file of another length (the last page then ends early).
    /// </summary>
    public long Length { get; }
    public long End => Offset + Size;
    /// <summary>The key that decided who shares this region (UID, PID, or a server-chosen name).</summary>
    public string? ShareKey { get; }
    public bool IsDestroyed => Volatile.Read(ref _destroyed);
    private bool _destroyed;

    internal void MarkDestroyed() => Volatile.Write(ref _destroyed, true);

    /// <summary>Client opens currently holding the region (each open file, not each mapping).</summary>
    public int ClientOpens => Volatile.Read(ref _clientOpens);
    /// <summary>Handles the server holds (<see cref="AcquireServerHandle"/>).</summary>
    public int ServerHandles => Volatile.Read(ref _serverHandles);

    /// <summary>Base of the server's own mapping of the region.</summary>
    public nint Address => _address != 0 ? _address : throw new ObjectDisposedException(nameof(MmapRegion), $"region {this} was destroyed");

    /// <summary>The region's bytes in the server's memory: reads and writes here are what clients see, without copies.</summary>
    public Span<byte> GetSpan(long offset, int length)
    {
        if (offset < 0 || length < 0 || offset + length > Length)
            throw new ArgumentOutOfRangeException(nameof(offset), $"[{offset}, {offset + length}) is outside region {this}");
        return new Span<byte>((byte*)Address + offset, length);
    }

    /// <summary>The whole region as one span (regions up to 2 GiB).</summary>
    public Span<byte> Span => Length <= int.MaxValue
        ? new Span<byte>((byte*)Address, (int)Length)
        : throw new InvalidOperationException($"region {this} is larger than a span can cover; use GetSpan");

    /// <summary>Bytes of the region that have pages allocated (touched by the server or a client).</summary>
    public long ResidentBytes
    {
        get
        {
            var fd = _memfd;
            if (fd is null || fd.IsClosed) return 0;
            return Libc.AllocatedBytes((int)fd.DangerousGetHandle());
        }
    }

    /// <summary>The memfd, for registering as a passthrough backing file (the kernel takes its own reference).</summary>
    internal SafeFileHandle Memfd => _memfd ?? throw new ObjectDisposedException(nameof(MmapRegion), $"region {this} was destroyed");

    /// <summary>Keeps the region from being freed at its last client release while the server uses it.</summary>
    public IDisposable AcquireServerHandle()
    {
        Interlocked.Increment(ref _serverHandles);
        return new ServerHandle(this);
    }

    internal void AddClientOpen() => Interlocked.Increment(ref _clientOpens);

    /// <summary>Returns true when this was the last client open.</summary>
    internal bool RemoveClientOpen()
    {
        int left = Interlocked.Decrement(ref _clientOpens);
        if (left < 0)
        {
            Interlocked.Increment(ref _clientOpens);
            throw new InvalidOperationException($"region {this}: more client releases than opens");
        }
        return left == 0;
    }

    /// <summary>Maps the region a second time at a fixed address (the address space's contiguous view).</summary>
    internal void MapAt(nint fixedAddress)
    {
        nint p = Libc.mmap(fixedAddress, (nint)Size, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_SHARED | Libc.MAP_FIXED, (int)Memfd.DangerousGetHandle(), 0);
        if (p == Libc.MAP_FAILED) throw new FuseException(Errno.Last, $"mapping region {this} into the address-space view failed: {Errno.Last}");
    }

    internal void Release()
    {
        nint address = Interlocked.Exchange(ref _address, 0);
        if (address != 0) Libc.munmap(address, (nint)Size);
        Interlocked.Exchange(ref _memfd, null)?.Dispose();
    }

    private void ReleaseServerHandle()
    {
        if (Interlocked.Decrement(ref _serverHandles) == 0) _space.OnServerHandlesGone(this);
    }

    public override string ToString() =>
        $"[0x{Offset:x}, 0x{End:x})" + (ShareKey is null ? "" : $" '{ShareKey}'");

    private sealed class ServerHandle(MmapRegion region) : IDisposable
    {
        private int _disposed;
        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0) region.ReleaseServerHandle();
        }
    }
}
