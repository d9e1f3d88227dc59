using DirectFuse.LowLevel;
using DirectFuse.Session;

namespace DirectFuse.DirectMmap;

/// <summary>
/// Keeps a node's page cache and its region in step without passthrough. Clients fault pages in with READ
/// and write them back with WRITE; the server pushes its changes with NOTIFY_STORE and pulls unsynced client
/// writes with NOTIFY_RETRIEVE.
/// </summary>
/// <remarks>
/// Both sides write the same memory, so every page the kernel holds has a <em>base</em>: the bytes the
/// kernel's copy had when the two were last equal. Data coming from the kernel (WRITE, RETRIEVE) changes
/// the region only where it differs from the base, i.e. where the client wrote; the region's bytes that
/// differ from the base are what the server wrote and still has to push. So the writeback of a stored page
/// (which the kernel sends with the stored bytes) changes nothing, and a pull never undoes newer server
/// writes. The price is a copy of every page the kernel caches. Not atomic: bytes a client writes between
/// the pull and the store of one sync are lost — passthrough mode has no such window.
/// </remarks>
internal sealed class PageCacheMirror
{
    // The page cache's unit: a NOTIFY_STORE of part of an uncached page is lost on the next READ.
    private static readonly int Page = MmapAddressSpace.PageSize;
    private const int MaxTransfer = 1 << 20;
    private readonly Lock _lock = new();
    private readonly Dictionary<(NodeId, MmapRegion), Binding> _bindings = [];
    private readonly Func<FuseNotifier?> _notifier;

    public PageCacheMirror(Func<FuseNotifier?> notifier) => _notifier = notifier;

    private sealed class Binding(NodeId node, MmapRegion region)
    {
        public NodeId Node { get; } = node;
        public MmapRegion Region { get; } = region;
        /// <summary>Page index → the kernel's copy as last known equal (sorted: pulls walk it in order).</summary>
        public readonly SortedDictionary<long, byte[]> Base = [];
    }

    public void Bind(NodeId node, MmapRegion region)
    {
        lock (_lock)
        {
            _bindings.TryAdd((node, region), new Binding(node, region));
        }
    }


    /// <summary>Forgets a node entirely (FORGET, or region destroyed): its cache is gone or no longer ours.</summary>
    public void Forget(NodeId node)
    {
        lock (_lock)
            foreach (var key in _bindings.Keys.Where(k => k.Item1 == node).ToList()) _bindings.Remove(key);
    }

    public void Forget(MmapRegion region)
    {
        lock (_lock)
            foreach (var key in _bindings.Keys.Where(k => k.Item2 == region).ToList()) _bindings.Remove(key);
    }

    /// <summary>READ: a page fault or read(2) of the node, served from the region.</summary>
    public int Read(NodeId node, MmapRegion region, long offset, Span<byte> buffer)
    {
        if (offset >= region.Length) return 0;
        int n = (int)Math.Min(buffer.Length, region.Length - offset);
        lock (_lock)
        {
            region.GetSpan(offset, n).CopyTo(buffer);
            if (_bindings.TryGetValue((node, region), out var b))
                // Remember what the kernel now caches for each whole page it receives.
                for (long page = (offset + Page - 1) / Page; page * Page + PageLength(region, page) <= offset + n && page * Page < region.Length; page++)
                    SetBase(b, page, buffer.Slice((int)(page * Page - offset), PageLength(region, page)));
        }
        return n;
    }

    /// <summary>WRITE (writeback or write(2)): merges the client's bytes into the region.</summary>
    public Result<int> Write(NodeId node, MmapRegion region, long offset, ReadOnlySpan<byte> data)
    {
        if (offset >= region.Length) return Errno.EPERM; // the region cannot grow, as a sealed memfd refuses
        int n = (int)Math.Min(data.Length, region.Length - offset);
        lock (_lock)
        {
            _bindings.TryGetValue((node, region), out var b);
            MergeFromKernel(b, region, offset, data[..n]);
        }
        return n;
    }

    /// <summary>Pulls unsynced client writes of every node bound to <paramref name="region"/> into it.</summary>
    public async Task PullAsync(MmapRegion region, CancellationToken cancellationToken)
    {
        var notifier = _notifier() ?? throw new InvalidOperationException("the session is not running");
        var buffer = new byte[MaxTransfer];
        foreach (var (b, ranges) in CachedRanges(region))
            foreach (var (start, length) in ranges)
            {
                bool known = await notifier.RetrieveRangeAsync(b.Node, start, length, buffer, (at, data) =>
                {
                    lock (_lock)
                    {
                        if (data.IsEmpty) b.Base.Remove(at / Page); // evicted: the kernel will READ it afresh
                        else MergeFromKernel(b, region, at, data.Span);
                    }
                }, cancellationToken).ConfigureAwait(false);
                if (!known)
                {
                    lock (_lock) b.Base.Clear(); // the kernel dropped the inode: nothing cached any more
                    break;
                }
            }
    }

    /// <summary>Pushes the server's changes of <paramref name="region"/> into every bound node's page cache (after pulling, so client writes are not overwritten).</summary>
    public async Task<int> SyncAsync(MmapRegion region, CancellationToken cancellationToken)
    {
        await PullAsync(region, cancellationToken).ConfigureAwait(false);
        var notifier = _notifier() ?? throw new InvalidOperationException("the session is not running");
        // Runs of adjacent cached pages whose region bytes differ from what the kernel holds.
        List<(Binding Binding, long FirstPage, int Pages)> runs = [];
        lock (_lock)
            foreach (var b in _bindings.Values)
            {
                if (b.Region != region) continue;
                foreach (var (page, copy) in b.Base)
                {
                    if (PageOf(region, page).SequenceEqual(copy)) continue;
                    if (runs.Count > 0 && runs[^1].Binding == b && runs[^1].FirstPage + runs[^1].Pages == page && runs[^1].Pages * Page < MaxTransfer)
                        runs[^1] = (b, runs[^1].FirstPage, runs[^1].Pages + 1);
                    else runs.Add((b, page, 1));
                }
            }
        int pushed = 0;
        var snapshot = new byte[Math.Min(MaxTransfer, (int)Math.Min(int.MaxValue, region.Length))];
        foreach (var (b, firstPage, pages) in runs)
        {
            long offset = firstPage * Page;
            int length = (int)Math.Min((long)pages * Page, region.Length - offset);
            // A snapshot, so that what is stored and what becomes the base are the same bytes even while the server writes on.
            lock (_lock) region.GetSpan(offset, length).CopyTo(snapshot);
            var errno = notifier.Store(b.Node, offset, snapshot.AsSpan(0, length));
            if (errno == Errno.ENOENT) { lock (_lock) b.Base.Clear(); continue; }
            if (!errno.IsOk) throw new FuseException(errno, $"NOTIFY_STORE to node {b.Node} failed: {errno}");
            lock (_lock)
                for (int k = 0; k < pages; k++)
                    SetBase(b, firstPage + k, snapshot.AsSpan(k * Page, PageLength(region, firstPage + k)));
            pushed += pages;
        }
        return pushed;
    }

    /// <summary>Records what the kernel now holds for <paramref name="page"/>, reusing the base array. Caller holds the lock.</summary>
    private static void SetBase(Binding b, long page, ReadOnlySpan<byte> bytes)
    {
        if (b.Base.TryGetValue(page, out var copy) && copy.Length == bytes.Length) bytes.CopyTo(copy);
        else b.Base[page] = bytes.ToArray();
    }

    /// <summary>Stores <paramref name="length"/> bytes at <paramref name="offset"/> into every bound node's page cache, whether the kernel has those pages or not.</summary>
    public async Task PushRangeAsync(MmapRegion region, long offset, long length, CancellationToken cancellationToken)
    {
        await PullAsync(region, cancellationToken).ConfigureAwait(false);
        var notifier = _notifier() ?? throw new InvalidOperationException("the session is not running");
        // Whole pages only: a partial store into a page the kernel does not cache is lost on the next READ.
        long start = offset / Page * Page, end = Math.Min(region.Length, (offset + length + Page - 1) / Page * Page);
        List<Binding> bound;
        lock (_lock) bound = _bindings.Values.Where(b => b.Region == region).ToList();
        var snapshot = new byte[(int)Math.Min(MaxTransfer, Math.Max(0, end - start))];
        foreach (var b in bound)
            for (long at = start; at < end; at += MaxTransfer)
            {
                int n = (int)Math.Min(MaxTransfer, end - at);
                lock (_lock) region.GetSpan(at, n).CopyTo(snapshot);
                var errno = notifier.Store(b.Node, at, snapshot.AsSpan(0, n));
                if (errno == Errno.ENOENT) break;
                if (!errno.IsOk) throw new FuseException(errno, $"NOTIFY_STORE to node {b.Node} failed: {errno}");
                lock (_lock)
                    for (long page = at / Page; page * Page < at + n; page++)
                        SetBase(b, page, snapshot.AsSpan((int)(page * Page - at), PageLength(region, page)));
            }
    }

    private List<(Binding, List<(long, long)>)> CachedRanges(MmapRegion region)
    {
        var result = new List<(Binding, List<(long, long)>)>();
        lock (_lock)
            foreach (var b in _bindings.Values)
            {
                if (b.Region != region || b.Base.Count == 0) continue;
                var ranges = new List<(long, long)>();
                foreach (long page in b.Base.Keys)
                {
                    long length = PageLength(region, page);
                    if (length <= 0) continue;
                    if (ranges.Count > 0 && ranges[^1].Item1 + ranges[^1].Item2 == page * Page)
                        ranges[^1] = (ranges[^1].Item1, ranges[^1].Item2 + length);
                    else ranges.Add((page * Page, length));
                }
                result.Add((b, ranges));
            }
        return result;
    }

    /// <summary>Bytes of page <paramref name="page"/> inside the region (the last page may end early).</summary>
    private static int PageLength(MmapRegion region, long page) => (int)Math.Clamp(region.Length - page * Page, 0, Page);

    private static Span<byte> PageOf(MmapRegion region, long page) => region.GetSpan(page * Page, PageLength(region, page));

    /// <summary>Applies bytes from the kernel: where a base is known only the client's changes land. Caller holds the lock.</summary>
    private static void MergeFromKernel(Binding? b, MmapRegion region, long offset, ReadOnlySpan<byte> data)
    {
        var target = region.GetSpan(offset, data.Length);
        if (b is null)
        {
            data.CopyTo(target);
            return;
        }
        long end = offset + data.Length;
        for (long page = offset / Page; page * Page < end; page++)
        {
            long pageStart = page * Page;
            int from = (int)Math.Max(0, pageStart - offset);
            int to = (int)Math.Min(data.Length, pageStart + Page - offset);
            var incoming = data[from..to];
            var dst = target[from..to];
            if (b.Base.TryGetValue(page, out var baseCopy))
            {
                var basePart = baseCopy.AsSpan((int)(offset + from - pageStart), incoming.Length);
                // Only the runs where the kernel's bytes moved away from the base are the client's writes;
                // CommonPrefixLength is vectorised, so an unchanged page costs one comparison.
                for (int i = 0; i < incoming.Length;)
                {
                    i += incoming[i..].CommonPrefixLength(basePart[i..]);
                    int changed = i;
                    while (changed < incoming.Length && incoming[changed] != basePart[changed]) changed++;
                    incoming[i..changed].CopyTo(dst[i..changed]);
                    i = changed;
                }
                incoming.CopyTo(basePart); // the kernel's copy now holds these bytes
            }
            else
            {
                incoming.CopyTo(dst);
                if (incoming.Length == PageLength(region, page)) SetBase(b, page, incoming);
            }
        }
    }
}
