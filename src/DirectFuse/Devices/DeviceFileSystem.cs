using System.Collections.Concurrent;
using DirectFuse.DirectMmap;
using DirectFuse.Interop;
using DirectFuse.LowLevel;
using DirectFuse.Session;

namespace DirectFuse.Devices;

/// <summary>
/// Hosts a <see cref="CharacterDevice"/> as a FUSE file system whose root is the device: mounted on a regular
/// file (rootmode S_IFREG), every request is for node 1 and no LOOKUP is ever sent, so the device can live at
/// any path without CUSE. Opens are direct I/O (each read and write reaches the device); ioctls are the
/// restricted kind; poll wake-ups go out as NOTIFY_POLL; the device's buffer is mapped as described on
/// <see cref="DeviceBuffer"/>.
/// </summary>
public sealed partial class DeviceFileSystem : LowLevelFileSystem
{
    private readonly ConcurrentDictionary<ulong, DeviceFile> _files = new();
    private readonly DeviceHostOptions _options;
    private readonly Lock _backingLock = new();
    private readonly SharedBackingFile _backing = new();
    private FuseConnection? _connection;
    // Page-cache mode on a kernel without FUSE_DIRECT_IO_ALLOW_MMAP: mapping opens are cached opens.
    private bool _cachedMappingOpens;
    private long _nextHandle;

    /// <summary>A host for <paramref name="device"/>; nothing is served until it is mounted
    /// (<see cref="Mount(string, FuseSessionOptions?)"/>).</summary>
    /// <param name="device">The device every open of the mounted file reaches.</param>
    /// <param name="options">Buffer mapping and ownership; the defaults when null.</param>
    public DeviceFileSystem(CharacterDevice device, DeviceHostOptions? options = null)
    {
        Device = device;
        _options = options ?? new DeviceHostOptions();
    }

    /// <summary>The device this host serves.</summary>
    public CharacterDevice Device { get; }

    /// <summary>How the buffer is mapped on this connection (decided at INIT).</summary>
    public DirectMmapMode MmapMode { get; private set; } = DirectMmapMode.None;

    /// <summary>Why <see cref="MmapMode"/> is what it is.</summary>
    public string MmapModeReason { get; private set; } = "not initialised";

    /// <summary>
    /// Mounts <paramref name="device"/> on <paramref name="path"/>, creating an empty regular file there if
    /// nothing exists yet. Dispose the session to unmount.
    /// </summary>
    public static FuseSession Mount(CharacterDevice device, string path, DeviceHostOptions? hostOptions = null, FuseSessionOptions? sessionOptions = null) =>
        new DeviceFileSystem(device, hostOptions).Mount(path, sessionOptions);

    /// <summary>Mounts this host on <paramref name="path"/> (created as an empty regular file if missing).</summary>
    public FuseSession Mount(string path, FuseSessionOptions? sessionOptions = null)
    {
        path = Path.GetFullPath(path);
        if (!File.Exists(path) && !Directory.Exists(path)) File.WriteAllBytes(path, []);
        return FuseSession.Mount(this, path, sessionOptions);
    }

    /// <inheritdoc/>
    public override void Init(FuseConnection connection)
    {
        _connection = connection;
        // A device is no cache: the kernel must not merge, delay or read ahead.
        connection.Want &= ~(InitFlags.WritebackCache | InitFlags.AsyncRead);
        var buffer = Device.Buffer;
        if (buffer is null)
        {
            SetMode(DirectMmapMode.None, "the device has no buffer");
            return;
        }
        if (_options.MmapMode == DirectMmapMode.Passthrough)
        {
            if (!connection.TryRequestPassthrough(out string whyNot)) SetMode(DirectMmapMode.PageCache, whyNot);
            else
            {
                SetMode(DirectMmapMode.Passthrough, "the buffer's memfd is the backing file (zero copy)");
                buffer.Mode = DirectMmapMode.Passthrough;
                return;
            }
        }
        else if (_options.MmapMode == DirectMmapMode.None)
        {
            connection.Want &= ~InitFlags.DirectIoAllowMmap;
            SetMode(DirectMmapMode.None, "mmap disabled by the server");
            return;
        }
        if (connection.Offers(InitFlags.DirectIoAllowMmap))
        {
            connection.Want |= InitFlags.DirectIoAllowMmap;
            if (MmapMode != DirectMmapMode.PageCache) SetMode(DirectMmapMode.PageCache, "direct I/O with a page-cache mapping synced by NOTIFY_RETRIEVE");
        }
        else
        {
            // Before Linux 6.6 a direct-I/O file cannot be mapped shared (ENODEV). A cached open can: its faults
            // are READs of the buffer and its stores come back by write-back and NOTIFY_RETRIEVE, as with
            // direct I/O; without the writeback cache its write(2) still reaches the device, write-through.
            _cachedMappingOpens = true;
            string why = "the kernel cannot map direct-I/O files (no FUSE_DIRECT_IO_ALLOW_MMAP, Linux < 6.6): opens that map the buffer are cached, write-through";
            SetMode(DirectMmapMode.PageCache, MmapMode == DirectMmapMode.PageCache ? $"{MmapModeReason}; {why}" : why);
        }
        var notifier = connection.Notifier;
        buffer.AttachPageCache((start, length, scratch, onData, ct) => notifier.RetrieveRangeAsync(NodeId.Root, start, length, scratch, onData, ct));
    }

    private void SetMode(DirectMmapMode mode, string reason)
    {
        MmapMode = mode;
        MmapModeReason = reason;
    }

    /// <inheritdoc/>
    public override void Destroy()
    {
        Device.Buffer?.Detach();
        lock (_backingLock) _backing.Close();
        Device.HostStopped();
    }

    private FileAttr Attr() => new()
    {
        Ino = 1,
        Mode = StatMode.Regular | (Device.Permissions & 0xFFF),
        NLink = 1,
        Uid = _options.Uid ?? Libc.geteuid(),
        Gid = _options.Gid ?? Libc.getegid(),
        // Clients such as Python's mmap refuse to map past the size a regular file reports.
        Size = Device.Buffer?.Size ?? 0,
        BlkSize = 4096,
    };

    /// <inheritdoc/>
    public override ValueTask<Result<AttrReply>> GetAttrAsync(FuseContext context, NodeId node, FileHandle? handle, CancellationToken cancellationToken) =>
        node.IsRoot ? Done<AttrReply>(new AttrReply(Attr(), TimeSpan.Zero)) : Done<AttrReply>(Errno.ENOENT);

    /// <summary>Truncation (O_TRUNC, as shells' <c>&gt;</c> redirection does) and time updates are accepted and ignored, as a device node does.</summary>
    public override ValueTask<Result<AttrReply>> SetAttrAsync(FuseContext context, NodeId node, SetAttrRequest request, CancellationToken cancellationToken)
    {
        if (request.Has(SetAttrFields.Mode) || request.Has(SetAttrFields.Uid) || request.Has(SetAttrFields.Gid)) return Done<AttrReply>(Errno.EPERM);
        return GetAttrAsync(context, node, null, cancellationToken);
    }

    /// <inheritdoc/>
    public override async ValueTask<Result<OpenReply>> OpenAsync(FuseContext context, NodeId node, int flags, CancellationToken cancellationToken)
    {
        // FUSE: the root is the device; CUSE opens name node 0.
        if (!node.IsRoot && !IsCuse) return Errno.ENOENT;
        var opened = await Device.OpenAsync(context, flags, cancellationToken).ConfigureAwait(false);
        if (!opened.TryGetValue(out var file)) return opened.Error;
        file.MapsBuffer = Device.Buffer is not null && MmapMode != DirectMmapMode.None
            // A cached open's read(2) returns the buffer, as a passthrough open's does: the device chooses which
            // opens may be like that by the same rule.
            && Device.MapsBuffer(file, _cachedMappingOpens ? DirectMmapMode.Passthrough : MmapMode);
        ulong handle = (ulong)Interlocked.Increment(ref _nextHandle);
        if (file.MapsBuffer && MmapMode == DirectMmapMode.Passthrough)
        {
            var id = AcquireBacking();
            if (!id.TryGetValue(out int backingId))
            {
                await Device.ReleaseAsync(file, cancellationToken).ConfigureAwait(false);
                return id.Error;
            }
            _files[handle] = file;
            return new OpenReply(new FileHandle(handle), OpenReplyFlags.Passthrough, backingId);
        }
        _files[handle] = file;
        // Direct I/O: every write(2) reaches the device; with DIRECT_IO_ALLOW_MMAP a MAP_SHARED mapping is still
        // served from the page cache. No KEEP_CACHE: a new open starts with the buffer as the server has it.
        if (file.MapsBuffer && _cachedMappingOpens) return new OpenReply(new FileHandle(handle), OpenReplyFlags.None);
        return new OpenReply(new FileHandle(handle), OpenReplyFlags.DirectIo);
    }

    private Result<int> AcquireBacking()
    {
        var connection = _connection ?? throw new InvalidOperationException("INIT has not happened");
        lock (_backingLock)
        {
            try
            {
                return _backing.Acquire(static state => state.connection.OpenBackingFile(state.region.Memfd), (connection, region: Device.Buffer!.Region));
            }
            catch (FuseException e)
            {
                return e.Errno;
            }
        }
    }

    private void ReleaseBacking()
    {
        lock (_backingLock) _backing.Release();
    }

    // READ and WRITE carry the file's current flags, so fcntl(F_SETFL, O_NONBLOCK) after open counts too.
    private static DeviceIo Io(FuseContext context, DeviceFile file) =>
        new(context, file.IsNonBlocking(context.FileFlags));

    /// <inheritdoc/>
    public override ValueTask<Result<int>> ReadAsync(FuseContext context, NodeId node, FileHandle handle, long offset, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        if (!_files.TryGetValue(handle.Value, out var file)) return Done<int>(Errno.EBADF);
        // In page-cache mode a page fault of the mapping arrives as READ, indistinguishable from read(2).
        if (file.MapsBuffer && MmapMode == DirectMmapMode.PageCache) return Done<int>(Device.Buffer!.LoadForKernel(offset, buffer.Span));
        return Device.ReadAsync(file, buffer, Io(context, file), cancellationToken);
    }

    /// <inheritdoc/>
    public override ValueTask<Result<int>> WriteAsync(FuseContext context, NodeId node, FileHandle handle, long offset, ReadOnlyMemory<byte> data, WriteFlags flags, CancellationToken cancellationToken)
    {
        // The writeback of a mapped page (FUSE_WRITE_CACHE) carries buffer bytes, not a write(2) stream; its
        // file handle is only a guess, so it does not have to name an open file.
        if ((flags & WriteFlags.Cache) != 0)
            return Device.Buffer is { } b ? Done<int>(b.StoreFromKernel(offset, data.Span)) : Done<int>(Errno.EIO);
        if (!_files.TryGetValue(handle.Value, out var file)) return Done<int>(Errno.EBADF);
        return Device.WriteAsync(file, data, Io(context, file), cancellationToken);
    }

    /// <inheritdoc/>
    public override ValueTask<Errno> FlushAsync(FuseContext context, NodeId node, FileHandle handle, ulong lockOwner, CancellationToken cancellationToken) =>
        _files.TryGetValue(handle.Value, out var file) ? Device.FlushAsync(file, cancellationToken) : Done(Errno.Ok);

    /// <inheritdoc/>
    public override async ValueTask<Errno> ReleaseAsync(FuseContext context, NodeId node, FileHandle handle, int flags, ReleaseFlags releaseFlags, ulong lockOwner, CancellationToken cancellationToken)
    {
        if (!_files.TryRemove(handle.Value, out var file)) return Errno.Ok;
        if (file.MapsBuffer && MmapMode == DirectMmapMode.Passthrough) ReleaseBacking();
        await Device.ReleaseAsync(file, cancellationToken).ConfigureAwait(false);
        return Errno.Ok;
    }

    /// <inheritdoc/>
    public override async ValueTask<Result<IoctlReply>> IoctlAsync(FuseContext context, NodeId node, FileHandle handle, uint command, ulong argument, ReadOnlyMemory<byte> input, Memory<byte> output, IoctlFlags flags, CancellationToken cancellationToken)
    {
        if (!_files.TryGetValue(handle.Value, out var file)) return Errno.EBADF;
        var request = new DeviceIoctl(context, command, argument, input, output, unrestricted: false);
        var result = await Device.IoctlAsync(file, request, cancellationToken).ConfigureAwait(false);
        if (!result.TryGetValue(out var r)) return result.Error;
        // Only CUSE may retry; on FUSE the kernel refuses a retry of a restricted ioctl with EIO anyway.
        if (r.IsRetry) return Errno.EIO;
        return new IoctlReply(r.Result, r.OutLength);
    }

    /// <inheritdoc/>
    public override async ValueTask<Result<uint>> PollAsync(FuseContext context, NodeId node, FileHandle handle, ulong? pollHandle, uint events, CancellationToken cancellationToken)
    {
        if (!_files.TryGetValue(handle.Value, out var file)) return Errno.EBADF;
        var notifier = _connection!.Notifier;
        var waiter = pollHandle is { } kh ? new PollWaiter(kh, notifier.PollWakeup) : null;
        var result = await Device.PollAsync(file, (PollEvents)events, waiter, cancellationToken).ConfigureAwait(false);
        return result.TryGetValue(out var ready) ? (uint)ready : result.Error;
    }
}
