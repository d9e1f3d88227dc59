using DirectFuse.Interop;
using Microsoft.Win32.SafeHandles;

namespace DirectFuse.DirectMmap;

/// <summary>
/// One region of a session's direct-mmap address space: a sealed, sparse memfd that the server maps into its
/// own memory and hands to clients. Pages are allocated on first touch by either side.
/// </summary>
/// <remarks>
/// <para>The memfd is sealed against growing and shrinking, so no client can resize it (a pwrite past the end
/// fails with EPERM, ftruncate with EPERM) and the server can never take SIGBUS from a shrunken region.
/// Disposing the region (through <see cref="MmapAddressSpace.Destroy"/>) drops the server's mapping and fd;
/// clients that still map it keep their pages until they unmap.</para>
/// <para>A <em>resizable</em> region (<see cref="MmapAddressSpace.CreateRegion"/> with <c>resizable</c>) stays
/// unsealed while only the server holds it, so <see cref="MmapAddressSpace.TryResize"/> can change its length
/// in place, without copying. When it outgrows the server's mapping it gets a new one of twice the size and
/// keeps the old (the same pages) until it is destroyed, so spans taken before growth stay valid while the
/// virtual address space it uses stays within a small multiple of its size. It is sealed, for good, the first
/// time its memfd is handed to the kernel as a backing file: clients then see a fixed size, as for any region.</para>
/// </remarks>
public sealed unsafe class MmapRegion
{
    private readonly MmapAddressSpace _space;
    private readonly Lock _sizeLock = new();
    private SafeFileHandle? _memfd;
    private nint _address;
    private long _mapped;
    private readonly long _maxSize;
    /// <summary>Mappings outgrown by a resizable region: kept so that spans into them stay valid.</summary>
    private readonly List<(nint Address, long Bytes)> _outgrown = [];
    private long _offset, _size, _length, _extent;
    private bool _sizeSealed;
    private int _clientOpens;
    private int _serverHandles;

    internal MmapRegion(MmapAddressSpace space, long offset, long size, long length, string? shareKey, SafeFileHandle memfd, nint address, long maxSize, bool resizable)
    {
        _space = space;
        _offset = offset;
        _size = _extent = size;
        _length = length;
        ShareKey = shareKey;
        _memfd = memfd;
        _address = address;
        _mapped = size;
        _maxSize = maxSize;
        _sizeSealed = !resizable;
    }

    /// <summary>Where the region starts in the address space (a multiple of the page size). A resizable region may move when it grows.</summary>
    public long Offset => Volatile.Read(ref _offset);
    /// <summary>The region's extent in the address space and its share of the quota (a page multiple).</summary>
    public long Size => Volatile.Read(ref _size);
    /// <summary>
    /// The memfd's length: what clients see as the file size, and the bytes the server may touch. Equal to
    /// <see cref="Size"/> unless the region backs a file of another length (the last page then ends early).
    /// </summary>
    public long Length => Volatile.Read(ref _length);
    /// <summary>The first offset after the region: <see cref="Offset"/> + <see cref="Size"/>.</summary>
    public long End => Offset + Size;
    /// <summary>Whether <see cref="MmapAddressSpace.TryResize"/> can still change the length in place (not yet sealed).</summary>
    public bool IsResizable
    {
        get { lock (_sizeLock) return !_sizeSealed && _memfd is not null; }
    }

    /// <summary>
    /// Offsets kept free for the region to grow into: at least <see cref="Size"/>; more after growth, so a
    /// growing region moves in the address space only O(log n) times. Written under the space's lock.
    /// </summary>
    internal long Extent => Volatile.Read(ref _extent);
    internal long ExtentEnd => Offset + Extent;
    /// <summary>The most <see cref="Size"/> can grow to: the smaller of the maximum region size and the quota.</summary>
    internal long MaxSize => _maxSize;
    /// <summary>The key that decided who shares this region (UID, PID, or a server-chosen name).</summary>
    public string? ShareKey { get; }
    /// <summary>
    /// True once the region was destroyed: its memory is gone from the server and new opens cannot reach it.
    /// </summary>
    public bool IsDestroyed => Volatile.Read(ref _destroyed);
    private bool _destroyed;

    internal void MarkDestroyed() => Volatile.Write(ref _destroyed, true);

    /// <summary>Client opens currently holding the region (each open file, not each mapping).</summary>
    public int ClientOpens => Volatile.Read(ref _clientOpens);
    /// <summary>Handles the server holds (<see cref="AcquireServerHandle"/>).</summary>
    public int ServerHandles => Volatile.Read(ref _serverHandles);

    /// <summary>
    /// Base of the server's own mapping of the region. A resizable region that grows may get a new one; spans
    /// into the old one stay valid (same pages) until the region is destroyed.
    /// </summary>
    public nint Address => Volatile.Read(ref _address) is var a && a != 0 ? a : throw new ObjectDisposedException(nameof(MmapRegion), $"region {this} was destroyed");

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

    /// <summary>
    /// The memfd, for registering as a passthrough backing file (the kernel takes its own reference). Every
    /// such use exposes it to clients, so a resizable region is sealed here first: a client's pwrite past the
    /// end must not grow it behind the server's accounting, nor a shrink make the server fault.
    /// </summary>
    internal SafeFileHandle Memfd
    {
        get
        {
            SealSize();
            return OwnMemfd;
        }
    }

    private SafeFileHandle OwnMemfd => _memfd ?? throw new ObjectDisposedException(nameof(MmapRegion), $"region {this} was destroyed");

    /// <summary>Adds the size seals (once). Sealing is irreversible: later size changes need a new region.</summary>
    private void SealSize()
    {
        lock (_sizeLock)
        {
            if (_sizeSealed) return;
            int fd = (int)OwnMemfd.DangerousGetHandle();
            if (Libc.fcntl(fd, Libc.F_ADD_SEALS, Libc.F_SEAL_GROW | Libc.F_SEAL_SHRINK | Libc.F_SEAL_SEAL) != 0)
                throw new FuseException(Errno.Last, $"sealing region {this} failed: {Errno.Last}");
            _sizeSealed = true;
        }
    }

    /// <summary>
    /// Sets the memfd's length in place; false if the region was sealed meanwhile. The space holds its lock
    /// and has checked the quota; it publishes the new size through <see cref="SetPlace"/>.
    /// </summary>
    internal bool TrySetLength(long length)
    {
        lock (_sizeLock)
        {
            if (_sizeSealed || _memfd is null) return false;
            long size = (length + MmapAddressSpace.PageSize - 1) / MmapAddressSpace.PageSize * MmapAddressSpace.PageSize;
            if (size > _mapped) MapLarger(size);
            // Sparse either way: growing allocates nothing, shrinking frees the pages past the end (and zeroes
            // the tail of the last page, so growing again reads zeros as on any file).
            if (Libc.ftruncate((int)_memfd.DangerousGetHandle(), length) != 0)
                throw new FuseException(Errno.Last, $"resizing region {this} to {length} bytes failed: {Errno.Last}");
            Volatile.Write(ref _length, length);
            return true;
        }
    }

    /// <summary>
    /// A new server mapping with room to double, so a growing region remaps O(log n) times. The memfd is
    /// mapped again rather than copied; the old mapping stays for spans still using it. Caller holds the size lock.
    /// </summary>
    private void MapLarger(long size)
    {
        long bytes = Math.Min(_maxSize, Math.Max(size, 2 * _mapped));
        nint address = Libc.mmap(0, (nint)bytes, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_SHARED, (int)_memfd!.DangerousGetHandle(), 0);
        if (address == Libc.MAP_FAILED) throw new FuseException(Errno.Last, $"mapping {bytes} bytes of region {this} failed: {Errno.Last}");
        _outgrown.Add((_address, _mapped));
        _mapped = bytes;
        Volatile.Write(ref _address, address);
    }

    /// <summary>Publishes the region's place after a resize. Caller holds the space's lock.</summary>
    internal void SetPlace(long offset, long size, long extent)
    {
        Volatile.Write(ref _offset, offset);
        Volatile.Write(ref _size, size);
        Volatile.Write(ref _extent, extent);
    }

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
        nint p = Libc.mmap(fixedAddress, (nint)Size, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_SHARED | Libc.MAP_FIXED, (int)OwnMemfd.DangerousGetHandle(), 0);
        if (p == Libc.MAP_FAILED) throw new FuseException(Errno.Last, $"mapping region {this} into the address-space view failed: {Errno.Last}");
    }

    internal void Release()
    {
        nint address = Interlocked.Exchange(ref _address, 0);
        lock (_sizeLock)
        {
            if (address != 0) Libc.munmap(address, (nint)_mapped);
            foreach (var (old, bytes) in _outgrown) Libc.munmap(old, (nint)bytes);
            _outgrown.Clear();
            Interlocked.Exchange(ref _memfd, null)?.Dispose();
        }
    }

    private void ReleaseServerHandle()
    {
        if (Interlocked.Decrement(ref _serverHandles) == 0) _space.OnServerHandlesGone(this);
    }

    /// <summary>The region's offsets and share key, for logs: <c>[0x1000, 0x3000) 'uid:1000'</c>.</summary>
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
