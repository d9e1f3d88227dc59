using DirectFuse.Interop;
using Microsoft.Win32.SafeHandles;

namespace DirectFuse.DirectMmap;

/// <summary>
/// A session's direct-mmap address space: regions at page-aligned offsets of the server's choosing, each a
/// sealed sparse memfd (or, for files being written, one sealed when first handed out). Lookups by offset are
/// binary searches over an immutable sorted array, so readers never take a lock; creating, destroying and
/// moving regions (rare) copies the array under a lock.
/// </summary>
public sealed unsafe class MmapAddressSpace : IDisposable
{
    private readonly Lock _lock = new();
    private MmapRegion[] _sorted = [];
    private readonly Dictionary<MmapRegion, RegionLifetime> _lifetimes = [];
    private long _reserved;
    private nint _view;
    private bool _disposed;

    /// <summary>
    /// An empty address space; regions are created on demand. Throws <see cref="ArgumentException"/> for a non-positive
    /// quota, region size or limit.
    /// </summary>
    public MmapAddressSpace(MmapAddressSpaceOptions? options = null)
    {
        Options = options ?? new MmapAddressSpaceOptions();
        if (Options.Quota <= 0 || Options.MaxRegionSize <= 0 || Options.Limit <= 0)
            throw new ArgumentException("quota, maximum region size and limit must be positive");
        MmapMetrics.Add(this);
    }

    /// <summary>The quota and limits this space was created with.</summary>
    public MmapAddressSpaceOptions Options { get; }

    /// <summary>The page size: sizes and offsets are multiples of it.</summary>
    public static int PageSize { get; } = Environment.SystemPageSize;

    /// <summary>
    /// SHMLBA, the alignment that keeps shared mappings coherent on CPUs with virtually indexed caches: the
    /// page size on x86-64 and arm64, four pages on 32-bit ARM. A redirected offset must equal the requested
    /// one modulo SHMLBA.
    /// </summary>
    public static int Shmlba { get; } =
        System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture == System.Runtime.InteropServices.Architecture.Arm
            ? 4 * Environment.SystemPageSize : Environment.SystemPageSize;

    /// <summary>Raised when the last client open of a region is released (the 2010 patch's FUSE_MUNMAP notice). See the design doc for what this can and cannot tell.</summary>
    public event Action<MmapRegion>? LastClientReleased;

    /// <summary>Raised after a region was destroyed (by the server, or after its last user with <see cref="RegionLifetime.FreeAfterLastUser"/>).</summary>
    public event Action<MmapRegion>? RegionDestroyed;

    /// <summary>The live regions, sorted by offset: a snapshot, safe to enumerate while regions come and go.</summary>
    public IReadOnlyList<MmapRegion> Regions => Volatile.Read(ref _sorted);

    /// <summary>
    /// Region count, bytes reserved against the quota, and bytes resident in memory now (summed over the regions; a
    /// moment's snapshot).
    /// </summary>
    public MmapUsage Usage
    {
        get
        {
            var regions = Regions;
            long resident = 0;
            foreach (var r in regions) resident += r.ResidentBytes;
            return new MmapUsage(regions.Count, Interlocked.Read(ref _reserved), resident, Options.Quota);
        }
    }

    /// <summary>
    /// Creates a region of <paramref name="size"/> bytes at <paramref name="offset"/> (or the lowest free
    /// page-aligned offset when null). Throws <see cref="ArgumentException"/> for misaligned or overlapping
    /// ranges (the message names both ranges) and <see cref="FuseException"/> EDQUOT/EFBIG past the limits.
    /// </summary>
    /// <param name="size">The extent in the address space (a page multiple); counts against the quota.</param>
    /// <param name="offset">Where in the address space, or null for the lowest free offset.</param>
    /// <param name="shareKey">Who shares it (shown in statistics).</param>
    /// <param name="lifetime">Whether it is freed after its last user.</param>
    /// <param name="length">The memfd's (file's) length, up to <paramref name="size"/>; null for the whole size.</param>
    /// <param name="resizable">
    /// Leave the memfd unsealed until it is first handed to the kernel, so <see cref="TryResize"/> can grow
    /// and shrink it in place (a file being written); false for a region sealed from the start.
    /// </param>
    public MmapRegion CreateRegion(long size, long? offset = null, string? shareKey = null, RegionLifetime lifetime = RegionLifetime.KeepUntilDestroyed, long? length = null, bool resizable = false)
    {
        if (length is { } l && (l <= 0 || l > size))
            throw new ArgumentException($"region length {l} must be positive and at most its size {size}", nameof(length));
        if (size <= 0 || size % PageSize != 0)
            throw new ArgumentException($"region size {size} is not a positive multiple of the page size ({PageSize})", nameof(size));
        // Clients reach file offset f of a region at region offset f, so with regions SHMLBA-aligned the
        // 2010 rule "redirected ≡ requested (mod SHMLBA)" holds for every offset a client can request.
        if (offset is { } o && (o < 0 || o % Shmlba != 0))
            throw new ArgumentException($"region offset 0x{o:x} is not a non-negative multiple of SHMLBA ({Shmlba}), so client offsets could not keep their alignment", nameof(offset));
        if (size > Options.MaxRegionSize)
            throw new FuseException(Errno.EFBIG, $"a region of {size} bytes exceeds the maximum region size of {Options.MaxRegionSize} bytes");

        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_reserved + size > Options.Quota)
                throw new FuseException(Errno.EDQUOT, $"a region of {size} bytes would exceed the address space quota: {_reserved} of {Options.Quota} bytes reserved");
            long start = offset ?? FindFree(size);
            if (start + size > Options.Limit || start + size < start)
                throw new ArgumentException($"region [0x{start:x}, 0x{start + size:x}) ends past the address space limit 0x{Options.Limit:x}");
            int index = LowerBound(_sorted, start);
            if (index > 0 && _sorted[index - 1].ExtentEnd > start)
                throw Overlap(start, size, _sorted[index - 1]);
            if (index < _sorted.Length && _sorted[index].Offset < start + size)
                throw Overlap(start, size, _sorted[index]);

            var region = Allocate(start, size, length ?? size, shareKey, resizable);
            if (_view != 0) region.MapAt(_view + (nint)start);
            var next = new MmapRegion[_sorted.Length + 1];
            Array.Copy(_sorted, next, index);
            next[index] = region;
            Array.Copy(_sorted, index, next, index + 1, _sorted.Length - index);
            Volatile.Write(ref _sorted, next);
            _lifetimes[region] = lifetime;
            _reserved += size;
            return region;
        }
    }

    private static ArgumentException Overlap(long start, long size, MmapRegion existing) =>
        new($"region [0x{start:x}, 0x{start + size:x}) overlaps existing region {existing}"
            + (existing.ExtentEnd > existing.End ? $" (with the offsets it keeps to grow, up to 0x{existing.ExtentEnd:x})" : ""));

    private MmapRegion Allocate(long start, long size, long length, string? shareKey, bool resizable)
    {
        long maxSize = resizable ? Math.Max(size, Math.Min(Options.MaxRegionSize, Options.Quota) / PageSize * PageSize) : size;
        int fd = Libc.memfd_create($"directfuse-region-{start:x}", Libc.MFD_CLOEXEC | Libc.MFD_ALLOW_SEALING);
        if (fd < 0) throw new FuseException(Errno.Last, $"memfd_create failed: {Errno.Last}");
        var handle = new SafeFileHandle(fd, ownsHandle: true);
        try
        {
            // Sparse: ftruncate allocates nothing; pages appear on first touch.
            if (Libc.ftruncate(fd, length) != 0) throw new FuseException(Errno.Last, $"sizing region to {length} bytes failed: {Errno.Last}");
            // Neither side may resize it any more: no SIGBUS for the server, EPERM for a client trying. A
            // resizable region gets the same seals when it is first handed out (MmapRegion.Memfd).
            if (!resizable && Libc.fcntl(fd, Libc.F_ADD_SEALS, Libc.F_SEAL_GROW | Libc.F_SEAL_SHRINK | Libc.F_SEAL_SEAL) != 0)
                throw new FuseException(Errno.Last, $"sealing the region failed: {Errno.Last}");
            nint address = Libc.mmap(0, (nint)size, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_SHARED, fd, 0);
            if (address == Libc.MAP_FAILED) throw new FuseException(Errno.Last, $"mapping the region failed: {Errno.Last}");
            return new MmapRegion(this, start, size, length, shareKey, handle, address, maxSize, resizable);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>Lowest SHMLBA-aligned gap that fits (first fit), ignoring <paramref name="moving"/>. Caller holds the lock.</summary>
    private long FindFree(long size, MmapRegion? moving = null)
    {
        long candidate = 0;
        foreach (var r in _sorted)
        {
            if (r == moving) continue;
            if (r.Offset - candidate >= size) return candidate;
            candidate = AlignUp(Math.Max(candidate, r.ExtentEnd), Shmlba);
        }
        return candidate;
    }

    /// <summary>
    /// Changes a resizable region's length in place: no copy. Spans already handed out stay valid, even when
    /// growth gives the region a new server mapping (<see cref="MmapRegion.Address"/>), except past a new,
    /// shorter end (the pages are gone). The quota counts the new page-rounded size instead of the old one.
    /// Returns false when the region is sealed (created sealed, or handed to clients since): then a new
    /// region is the only way.
    /// </summary>
    /// <remarks>
    /// The region may move to another offset of the address space when it outgrows the gap after it; it
    /// keeps doubling offsets reserved for growth, so that happens O(log n) times. Lookups by offset
    /// (<see cref="TryFind"/>) racing a move may miss the region: use resizable regions for files opened
    /// through passthrough or served, not for offsets clients were redirected to.
    /// </remarks>
    /// <exception cref="FuseException">EFBIG past the maximum region size, EDQUOT past the quota, ENOSPC when no offsets fit.</exception>
    public bool TryResize(MmapRegion region, long length)
    {
        if (length <= 0) throw new ArgumentOutOfRangeException(nameof(length), $"region length {length} must be positive (destroy the region to free it)");
        long size = AlignUp(length, PageSize);
        if (size > Options.MaxRegionSize)
            throw new FuseException(Errno.EFBIG, $"a region of {size} bytes exceeds the maximum region size of {Options.MaxRegionSize} bytes");
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (region.IsDestroyed || !_lifetimes.ContainsKey(region)) throw new ObjectDisposedException(nameof(MmapRegion), $"region {region} was destroyed");
            if (!region.IsResizable) return false;
            long oldSize = region.Size;
            if (_reserved - oldSize + size > Options.Quota)
                throw new FuseException(Errno.EDQUOT, $"growing region {region} to {size} bytes would exceed the address space quota: {_reserved} of {Options.Quota} bytes reserved");
            if (size > region.MaxSize) // unreachable: MaxSize is min(maximum, quota)
                throw new FuseException(Errno.EFBIG, $"region {region} cannot grow past {region.MaxSize} bytes");
            var (offset, extent) = size <= region.Extent ? (region.Offset, region.Extent) : PlaceGrowth(region, size);
            if (!region.TrySetLength(length)) return false; // sealed since the check
            long oldOffset = region.Offset;
            if (offset != oldOffset)
            {
                var without = _sorted.Where(r => r != region).ToArray();
                int index = LowerBound(without, offset);
                var next = new MmapRegion[_sorted.Length];
                Array.Copy(without, next, index);
                next[index] = region;
                Array.Copy(without, index, next, index + 1, without.Length - index);
                region.SetPlace(offset, size, extent);
                Volatile.Write(ref _sorted, next);
            }
            else region.SetPlace(offset, size, extent);
            _reserved += size - oldSize;
            if (_view != 0) Remap(region, oldOffset, oldSize);
            return true;
        }
    }

    /// <summary>Where a region growing to <paramref name="size"/> goes: its own gap if that fits, else the first free one, with room to double. Caller holds the lock.</summary>
    private (long Offset, long Extent) PlaceGrowth(MmapRegion region, long size)
    {
        long want = Math.Max(size, Math.Min(2 * region.Extent, region.MaxSize));
        int index = Array.IndexOf(_sorted, region);
        long gapEnd = index + 1 < _sorted.Length ? _sorted[index + 1].Offset : Options.Limit;
        if (region.Offset + size <= gapEnd) return (region.Offset, Math.Min(want, gapEnd - region.Offset));
        foreach (long extent in (ReadOnlySpan<long>)[want, size])
        {
            long start = FindFree(extent, region);
            if (start + extent <= Options.Limit) return (start, extent);
        }
        throw new FuseException(Errno.ENOSPC, $"no {size} bytes of offsets are free below the address space limit 0x{Options.Limit:x} for region {region} to grow into");
    }

    /// <summary>Follows a resize in the contiguous view: the old window back to inaccessible, the region mapped at its place. Caller holds the lock.</summary>
    private void Remap(MmapRegion region, long oldOffset, long oldSize)
    {
        Libc.mmap(_view + (nint)oldOffset, (nint)oldSize, Libc.PROT_NONE, Libc.MAP_PRIVATE | Libc.MAP_ANONYMOUS | Libc.MAP_NORESERVE | Libc.MAP_FIXED, -1, 0);
        region.MapAt(_view + (nint)region.Offset);
    }

    private static long AlignUp(long value, long alignment) => (value + alignment - 1) / alignment * alignment;

    /// <summary>
    /// The address-space offset where a client's request for file offset <paramref name="requested"/> of
    /// <paramref name="region"/> lands, checked against the SHMLBA rule of the 2010 patch.
    /// </summary>
    public static long Redirect(MmapRegion region, long requested)
    {
        if (requested < 0 || requested >= region.Size) throw new ArgumentOutOfRangeException(nameof(requested), $"offset {requested} is outside region {region}");
        long redirected = region.Offset + requested;
        if (redirected % Shmlba != requested % Shmlba)
            throw new InvalidOperationException($"redirecting offset {requested} to 0x{redirected:x} breaks the SHMLBA rule");
        return redirected;
    }

    /// <summary>The region containing <paramref name="offset"/>, by binary search.</summary>
    public bool TryFind(long offset, out MmapRegion region)
    {
        var sorted = Volatile.Read(ref _sorted);
        int index = LowerBound(sorted, offset + 1) - 1; // last region starting at or before offset
        // The Offset check guards against a resizable region that moved while this array was read.
        if (index >= 0 && sorted[index].Offset <= offset && sorted[index].End > offset)
        {
            region = sorted[index];
            return true;
        }
        region = null!;
        return false;
    }

    /// <summary>First index whose region starts at or after <paramref name="offset"/>.</summary>
    private static int LowerBound(MmapRegion[] sorted, long offset)
    {
        int lo = 0, hi = sorted.Length;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (sorted[mid].Offset < offset) lo = mid + 1;
            else hi = mid;
        }
        return lo;
    }

    /// <summary>
    /// Maps the whole address space as one contiguous range of the server's memory, every region at its
    /// offset (what the 2010 server got by mmapping the channel). Unused offsets are inaccessible.
    /// </summary>
    public nint MapView()
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_view != 0) return _view;
            // Address space only: PROT_NONE + NORESERVE commits no memory.
            nint view = Libc.mmap(0, (nint)Options.Limit, Libc.PROT_NONE, Libc.MAP_PRIVATE | Libc.MAP_ANONYMOUS | Libc.MAP_NORESERVE, -1, 0);
            if (view == Libc.MAP_FAILED) throw new FuseException(Errno.Last, $"reserving {Options.Limit} bytes of address space failed: {Errno.Last}");
            foreach (var r in _sorted) r.MapAt(view + (nint)r.Offset);
            _view = view;
            return view;
        }
    }

    /// <summary>Destroys <paramref name="region"/>: frees its offsets and quota and drops the server's mapping. Clients that still map it keep their pages.</summary>
    /// <remarks>The server must not be using the region's span when it destroys it: the mapping goes away.</remarks>
    public void Destroy(MmapRegion region)
    {
        bool removed;
        lock (_lock) removed = Unlink(region);
        if (removed) Finish(region);
    }

    /// <summary>Takes the region out of the space. Caller holds the lock.</summary>
    private bool Unlink(MmapRegion region)
    {
        int index = Array.IndexOf(_sorted, region);
        if (index < 0) return false;
        var next = new MmapRegion[_sorted.Length - 1];
        Array.Copy(_sorted, next, index);
        Array.Copy(_sorted, index + 1, next, index, _sorted.Length - index - 1);
        Volatile.Write(ref _sorted, next);
        _lifetimes.Remove(region);
        _reserved -= region.Size;
        // Replace the view's window with inaccessible memory again.
        if (_view != 0)
            Libc.mmap(_view + (nint)region.Offset, (nint)region.Size, Libc.PROT_NONE, Libc.MAP_PRIVATE | Libc.MAP_ANONYMOUS | Libc.MAP_NORESERVE | Libc.MAP_FIXED, -1, 0);
        region.MarkDestroyed();
        return true;
    }

    /// <summary>Outside the lock: unmap, close, and tell the listeners (who may take their own locks).</summary>
    private void Finish(MmapRegion region)
    {
        region.Release();
        RegionDestroyed?.Invoke(region);
    }

    /// <summary>Counts a client open of <paramref name="region"/> unless it is being destroyed (then the opener needs a new region).</summary>
    internal bool TryAddClientOpen(MmapRegion region)
    {
        lock (_lock)
        {
            if (region.IsDestroyed || !_lifetimes.ContainsKey(region)) return false;
            region.AddClientOpen();
            return true;
        }
    }

    /// <summary>Called by the binding layer when a client open of <paramref name="region"/> is released.</summary>
    internal void OnClientReleased(MmapRegion region)
    {
        if (!region.RemoveClientOpen()) return;
        LastClientReleased?.Invoke(region);
        if (region.ServerHandles == 0) FreeIfUnused(region);
    }

    internal void OnServerHandlesGone(MmapRegion region)
    {
        if (region.ClientOpens == 0) FreeIfUnused(region);
    }

    /// <summary>Frees a <see cref="RegionLifetime.FreeAfterLastUser"/> region; the check and the unlinking are one step under the lock, so no open slips in between.</summary>
    private void FreeIfUnused(MmapRegion region)
    {
        bool removed = false;
        lock (_lock)
            if (_lifetimes.TryGetValue(region, out var lifetime) && lifetime == RegionLifetime.FreeAfterLastUser
                && region.ClientOpens == 0 && region.ServerHandles == 0)
                removed = Unlink(region);
        if (removed) Finish(region);
    }

    /// <summary>
    /// Destroys every region (their memfds close; clients that mapped them keep their pages) and unmaps the server's
    /// view. Further calls do nothing.
    /// </summary>
    public void Dispose()
    {
        MmapRegion[] regions;
        lock (_lock)
        {
            if (_disposed) return;
            _disposed = true;
            regions = _sorted;
        }
        MmapMetrics.Remove(this);
        foreach (var r in regions) Destroy(r);
        lock (_lock)
        {
            if (_view != 0) Libc.munmap(_view, (nint)Options.Limit);
            _view = 0;
        }
    }
}
