using System.Collections.Concurrent;
using DirectFuse.LowLevel;
using DirectFuse.Session;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace DirectFuse.DirectMmap;

/// <summary>
/// Serves region-backed files to clients: decides at INIT which mechanism this connection uses
/// (<see cref="DirectMmapMode"/>), answers OPEN with the region (passthrough backing file, page-cache
/// mirror, or direct I/O), routes READ/WRITE in the non-passthrough modes, and turns the last RELEASE of a
/// region into the address space's last-release notice. A file system owns one binder per session and
/// delegates OPEN/READ/WRITE/RELEASE of its region-backed nodes to it.
/// </summary>
public sealed partial class RegionBinder
{
    private readonly ConcurrentDictionary<ulong, OpenRegion> _opens = new();
    private readonly Dictionary<MmapRegion, SharedBackingFile> _backing = [];
    private readonly Lock _backingLock = new();
    private readonly PageCacheMirror _mirror;
    private readonly DirectMmapMode? _forced;
    private readonly ILogger _logger;
    private FuseConnection? _connection;
    private long _nextHandle;

    /// <param name="space">The regions this binder hands out.</param>
    /// <param name="mode">Force a mode (tests, or a server that wants no mmap); null picks the best available.</param>
    /// <param name="logger">Where the chosen mode and refusals are reported.</param>
    public RegionBinder(MmapAddressSpace space, DirectMmapMode? mode = null, ILogger? logger = null)
    {
        AddressSpace = space;
        _forced = mode;
        _logger = logger ?? NullLogger.Instance;
        _mirror = new PageCacheMirror(() => _connection?.Notifier);
        space.RegionDestroyed += _mirror.Forget;
    }

    /// <summary>The address space the binder hands regions out of.</summary>
    public MmapAddressSpace AddressSpace { get; }

    /// <summary>The mechanism in use; decided in <see cref="Init"/> and lowered to PageCache if the kernel refuses backing files.</summary>
    public DirectMmapMode Mode { get; private set; } = DirectMmapMode.PageCache;

    /// <summary>Why <see cref="Mode"/> is what it is, for the server's start-up message.</summary>
    public string ModeReason { get; private set; } = "not initialised";

    private sealed record OpenRegion(NodeId Node, MmapRegion Region, DirectMmapMode Mode);

    /// <summary>Call from the file system's <see cref="LowLevelFileSystem.Init"/>: asks the kernel for what the chosen mode needs.</summary>
    public void Init(FuseConnection connection)
    {
        _connection = connection;
        if (_forced == DirectMmapMode.None)
        {
            // Without DIRECT_IO_ALLOW_MMAP a direct-I/O file refuses MAP_SHARED with ENODEV.
            connection.Want &= ~InitFlags.DirectIoAllowMmap;
            SetMode(DirectMmapMode.None, "mmap support disabled by the server");
            return;
        }
        if (_forced == DirectMmapMode.PageCache)
        {
            SetMode(DirectMmapMode.PageCache, "page-cache mode requested by the server");
            return;
        }
        if (connection.TryRequestPassthrough(out string whyNot)) SetMode(DirectMmapMode.Passthrough, "FUSE passthrough of memfd regions (zero copy)");
        else SetMode(DirectMmapMode.PageCache, whyNot);
    }

    private void SetMode(DirectMmapMode mode, string reason)
    {
        Mode = mode;
        ModeReason = reason;
        LogMode(_logger, mode, reason);
    }

    /// <summary>
    /// Answers an OPEN of <paramref name="node"/> with <paramref name="region"/>. A node serves one region at a
    /// time (the kernel allows one backing file per inode), which is why per-caller regions need per-caller nodes.
    /// </summary>
    public Result<OpenReply> Open(NodeId node, MmapRegion region)
    {
        // ESTALE: the region is being freed after its last user; the caller makes a new one.
        if (!AddressSpace.TryAddClientOpen(region)) return Errno.ESTALE;
        var mode = Mode;
        int backingId = 0;
        if (mode == DirectMmapMode.Passthrough)
        {
            var acquired = AcquireBacking(region);
            if (acquired.TryGetValue(out int id)) backingId = id;
            else if (acquired.Error == Errno.EPERM || acquired.Error == Errno.EOPNOTSUPP)
            {
                SetMode(DirectMmapMode.PageCache, $"the kernel refused a backing file ({acquired.Error}); using the page cache");
                mode = DirectMmapMode.PageCache;
            }
            else
            {
                AddressSpace.OnClientReleased(region);
                return acquired.Error;
            }
        }
        if (mode == DirectMmapMode.PageCache) _mirror.Bind(node, region);
        ulong handle = (ulong)Interlocked.Increment(ref _nextHandle);
        _opens[handle] = new OpenRegion(node, region, mode);
        return mode switch
        {
            DirectMmapMode.Passthrough => new OpenReply(new FileHandle(handle), OpenReplyFlags.Passthrough, backingId),
            // Keep the cache across opens: it mirrors the region, it is not stale because a file was reopened.
            DirectMmapMode.PageCache => new OpenReply(new FileHandle(handle), OpenReplyFlags.KeepCache),
            _ => new OpenReply(new FileHandle(handle), OpenReplyFlags.DirectIo),
        };
    }

    /// <summary>Whether <paramref name="handle"/> came from <see cref="Open"/>.</summary>
    public bool Owns(FileHandle handle) => _opens.ContainsKey(handle.Value);

    /// <summary>The region an open file handle serves.</summary>
    public MmapRegion? RegionOf(FileHandle handle) => _opens.TryGetValue(handle.Value, out var o) ? o.Region : null;

    /// <summary>RELEASE of a handle from <see cref="Open"/>. The last release of a region raises <see cref="MmapAddressSpace.LastClientReleased"/>.</summary>
    public Errno Release(FileHandle handle)
    {
        if (!_opens.TryRemove(handle.Value, out var open)) return Errno.EBADF;
        if (open.Mode == DirectMmapMode.Passthrough) ReleaseBacking(open.Region);
        // A page-cache binding outlives the open: the kernel may keep the node's pages cached (Forget drops it).
        AddressSpace.OnClientReleased(open.Region);
        return Errno.Ok;
    }

    /// <summary>READ on a region file (page-cache and no-mmap modes; passthrough files never send READ).</summary>
    public Result<int> Read(FileHandle handle, long offset, Span<byte> buffer)
    {
        if (!_opens.TryGetValue(handle.Value, out var open)) return Errno.EBADF;
        if (open.Region.IsDestroyed) return Errno.ESTALE;
        return _mirror.Read(open.Node, open.Region, offset, buffer);
    }

    /// <summary>WRITE on a region file: merged into the region; past its end EPERM, as a sealed memfd answers.</summary>
    public Result<int> Write(FileHandle handle, long offset, ReadOnlySpan<byte> data)
    {
        if (!_opens.TryGetValue(handle.Value, out var open)) return Errno.EBADF;
        if (open.Region.IsDestroyed) return Errno.ESTALE;
        return _mirror.Write(open.Node, open.Region, offset, data);
    }

    /// <summary>Page-cache mode: the kernel forgot <paramref name="node"/>; its cached pages are gone.</summary>
    public void Forget(NodeId node) => _mirror.Forget(node);

    /// <summary>
    /// Page-cache mode: makes clients and server agree on <paramref name="region"/> — pulls unsynced client
    /// writes (NOTIFY_RETRIEVE) and pushes server changes (NOTIFY_STORE). Returns the pages pushed. A no-op in
    /// passthrough mode, where both sides already share the pages.
    /// </summary>
    public Task<int> SyncAsync(MmapRegion region, CancellationToken cancellationToken = default) =>
        Mode == DirectMmapMode.PageCache ? _mirror.SyncAsync(region, cancellationToken) : Task.FromResult(0);

    /// <summary>Page-cache mode: pulls client writes of <paramref name="region"/> into it (NOTIFY_RETRIEVE).</summary>
    public Task PullAsync(MmapRegion region, CancellationToken cancellationToken = default) =>
        Mode == DirectMmapMode.PageCache ? _mirror.PullAsync(region, cancellationToken) : Task.CompletedTask;

    /// <summary>Page-cache mode: stores a range of <paramref name="region"/> into clients' page caches (NOTIFY_STORE), cached there or not.</summary>
    public Task PushAsync(MmapRegion region, long offset, long length, CancellationToken cancellationToken = default) =>
        Mode == DirectMmapMode.PageCache ? _mirror.PushRangeAsync(region, offset, length, cancellationToken) : Task.CompletedTask;

    /// <summary>Syncs every region every <paramref name="interval"/> until disposed (page-cache mode); Dispose waits for a sync in flight.</summary>
    public IDisposable StartPeriodicSync(TimeSpan interval) => new PeriodicSync(this, interval);

    private sealed class PeriodicSync : IDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _loop;

        public PeriodicSync(RegionBinder binder, TimeSpan interval) => _loop = Task.Run(() => RunAsync(binder, interval));

        private async Task RunAsync(RegionBinder binder, TimeSpan interval)
        {
            using var timer = new PeriodicTimer(interval);
            try
            {
                while (await timer.WaitForNextTickAsync(_stop.Token).ConfigureAwait(false))
                    foreach (var region in binder.AddressSpace.Regions)
                        try
                        {
                            await binder.SyncAsync(region, _stop.Token).ConfigureAwait(false);
                        }
                        catch (Exception e) when (e is not OperationCanceledException)
                        {
                            LogSyncFailed(binder._logger, e, region.ToString());
                        }
            }
            catch (OperationCanceledException)
            {
            }
        }

        public void Dispose()
        {
            _stop.Cancel();
            _loop.Wait(TimeSpan.FromSeconds(5));
            _stop.Dispose();
        }
    }

    private Result<int> AcquireBacking(MmapRegion region)
    {
        var connection = _connection ?? throw new InvalidOperationException("RegionBinder.Init was not called");
        lock (_backingLock)
        {
            if (!_backing.TryGetValue(region, out var shared)) _backing[region] = shared = new SharedBackingFile();
            try
            {
                return shared.Acquire(static state => state.connection.OpenBackingFile(state.region.Memfd), (connection, region));
            }
            catch (FuseException e)
            {
                LogBackingRefused(_logger, region.ToString(), e.Message);
                return e.Errno;
            }
            catch (ObjectDisposedException)
            {
                return Errno.ESTALE; // destroyed by the server meanwhile
            }
            finally
            {
                if (shared.Opens == 0) _backing.Remove(region);
            }
        }
    }

    private void ReleaseBacking(MmapRegion region)
    {
        lock (_backingLock)
        {
            if (_backing.TryGetValue(region, out var shared) && shared.Release()) _backing.Remove(region);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Direct mmap: {Mode} ({Reason})")]
    private static partial void LogMode(ILogger logger, DirectMmapMode mode, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Backing file for region {Region} refused: {Reason}")]
    private static partial void LogBackingRefused(ILogger logger, string region, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Periodic sync of region {Region} failed")]
    private static partial void LogSyncFailed(ILogger logger, Exception exception, string region);
}
