using DirectFuse.DirectMmap;
using DirectFuse.LowLevel;

namespace DirectFuse.Examples.Fmmap;

/// <summary>
/// The 2010 thread's fmmap example: one file, <c>buffer</c>, whose mapping is a region private to each UID
/// and shared by all processes of that UID (or whatever the <see cref="RegionPolicy"/> decides). Clients map
/// it and land on memory the server sees directly; no READ or WRITE reaches the server in passthrough mode.
/// A region lives while some client has the file open or the server holds it, and is freed after.
/// </summary>
public sealed class FmmapFileSystem : LowLevelFileSystem
{
    public const string FileName = "buffer";
    private const ulong BufferFileId = 2;
    private static readonly TimeSpan NoCache = TimeSpan.Zero;
    private readonly RegionPolicy _policy;
    private readonly CallerNodeTable _nodes = new();
    private readonly Dictionary<string, MmapRegion> _regions = [];
    private readonly Lock _lock = new();
    private long _readRequests, _writeRequests;

    public FmmapFileSystem(long size, RegionPolicy? policy = null, DirectMmapMode? mode = null, MmapAddressSpaceOptions? spaceOptions = null)
    {
        _policy = policy ?? RegionPolicy.PerUid(size);
        AddressSpace = new MmapAddressSpace(spaceOptions);
        Binder = new RegionBinder(AddressSpace, mode);
        AddressSpace.RegionDestroyed += region =>
        {
            lock (_lock)
                if (region.ShareKey is { } key && _regions.GetValueOrDefault(key) == region) _regions.Remove(key);
        };
    }

    public MmapAddressSpace AddressSpace { get; }
    public RegionBinder Binder { get; }
    /// <summary>READ requests that reached the server (none in passthrough mode).</summary>
    public long ReadRequests => Interlocked.Read(ref _readRequests);
    public long WriteRequests => Interlocked.Read(ref _writeRequests);

    /// <summary>The region currently serving <paramref name="shareKey"/> (e.g. "uid:1000"), if any.</summary>
    public MmapRegion? RegionFor(string shareKey)
    {
        lock (_lock) return _regions.GetValueOrDefault(shareKey);
    }

    /// <summary>A buffer's size is fixed: open(O_TRUNC) (a shell's <c>&gt;</c>) keeps it whole, as before, rather than a SETATTR answering EPERM.</summary>
    public override bool TruncatesOnOpen => true;

    public override void Init(FuseConnection connection) => Binder.Init(connection);

    public override void Destroy() => AddressSpace.Dispose();

    private static FileAttr RootAttr => new() { Ino = 1, Mode = StatMode.Directory | 0x1ED, NLink = 2 };

    private FileAttr BufferAttr(NodeId node, uint uid, uint gid, long size) => new()
    {
        Ino = node.Value,
        Mode = StatMode.Regular | 0x1B6, // rw for everybody: each caller only ever reaches its own region
        NLink = 1,
        Uid = uid,
        Gid = gid,
        Size = size,
        Blocks = (size + 511) / 512,
        BlkSize = (uint)MmapAddressSpace.PageSize,
    };

    public override ValueTask<Result<EntryReply>> LookupAsync(FuseContext context, NodeId parent, FileName name, CancellationToken cancellationToken)
    {
        if (!parent.IsRoot || !name.Equals(FileName)) return Done<EntryReply>(Errno.ENOENT);
        var (key, size) = _policy.Resolve(RegionCaller.Of(context));
        var node = _nodes.Lookup(BufferFileId, key);
        // Zero timeouts: the kernel must ask again for each caller, who may get another node.
        return Done<EntryReply>(new EntryReply(node, BufferAttr(node, context.Uid, context.Gid, size), NoCache, NoCache));
    }

    public override void Forget(NodeId node, ulong count)
    {
        if (_nodes.Forget(node, count)) Binder.Forget(node);
    }

    public override ValueTask<Result<AttrReply>> GetAttrAsync(FuseContext context, NodeId node, FileHandle? handle, CancellationToken cancellationToken)
    {
        if (node.IsRoot) return Done<AttrReply>(new AttrReply(RootAttr, NoCache));
        if (!_nodes.TryGet(node, out _, out string key)) return Done<AttrReply>(Errno.ENOENT);
        var region = RegionFor(key);
        long size = region?.Size ?? _policy.Resolve(RegionCaller.Of(context)).Size;
        return Done<AttrReply>(new AttrReply(BufferAttr(node, context.Uid, context.Gid, size), NoCache));
    }

    /// <summary>Regions have a fixed size: truncation is refused; other changes are accepted and ignored.</summary>
    public override ValueTask<Result<AttrReply>> SetAttrAsync(FuseContext context, NodeId node, SetAttrRequest request, CancellationToken cancellationToken)
    {
        if (request.Has(SetAttrFields.Size)) return Done<AttrReply>(Errno.EPERM);
        return GetAttrAsync(context, node, request.Handle, cancellationToken);
    }

    public override ValueTask<Result<OpenReply>> OpenAsync(FuseContext context, NodeId node, int flags, CancellationToken cancellationToken)
    {
        if (node.IsRoot) return Done<OpenReply>(new OpenReply(FileHandle.None));
        if (!_nodes.TryGet(node, out _, out string key)) return Done<OpenReply>(Errno.ENOENT);
        var (openKey, size) = _policy.Resolve(RegionCaller.Of(context, flags));
        if (openKey != key) return Done<OpenReply>(Errno.EBUSY); // the node was looked up for another share key
        lock (_lock)
        {
            // Twice at most: a region freed after its last user between our lookup and the open answers ESTALE.
            for (int attempt = 0; ; attempt++)
            {
                if (!_regions.TryGetValue(key, out var region) || region.IsDestroyed)
                {
                    region = AddressSpace.CreateRegion(size, shareKey: key, lifetime: RegionLifetime.FreeAfterLastUser);
                    _regions[key] = region;
                }
                var opened = Binder.Open(node, region);
                if (opened.Error != Errno.ESTALE || attempt == 1) return Done(opened);
                _regions.Remove(key);
            }
        }
    }

    public override ValueTask<Result<int>> ReadAsync(FuseContext context, NodeId node, FileHandle handle, long offset, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _readRequests);
        return Done(Binder.Read(handle, offset, buffer.Span));
    }

    public override ValueTask<Result<int>> WriteAsync(FuseContext context, NodeId node, FileHandle handle, long offset, ReadOnlyMemory<byte> data, WriteFlags flags, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _writeRequests);
        return Done(Binder.Write(handle, offset, data.Span));
    }

    public override ValueTask<Errno> ReleaseAsync(FuseContext context, NodeId node, FileHandle handle, int flags, ReleaseFlags releaseFlags, ulong lockOwner, CancellationToken cancellationToken) =>
        Done(node.IsRoot ? Errno.Ok : Binder.Release(handle));

    public override ValueTask<Errno> ReadDirAsync(FuseContext context, NodeId node, FileHandle handle, long offset, DirectoryBuffer buffer, CancellationToken cancellationToken)
    {
        if (!node.IsRoot) return Done(Errno.ENOTDIR);
        if (offset < 1 && !buffer.TryAdd(".", 1, StatMode.Directory, 1)) return Done(Errno.Ok);
        if (offset < 2 && !buffer.TryAdd("..", 1, StatMode.Directory, 2)) return Done(Errno.Ok);
        // A placeholder inode number: the real (per-caller) node comes from LOOKUP.
        if (offset < 3) buffer.TryAdd(FileName, 2, StatMode.Regular, 3);
        return Done(Errno.Ok);
    }

    public override ValueTask<Result<StatFsReply>> StatFsAsync(FuseContext context, NodeId node, CancellationToken cancellationToken)
    {
        var usage = AddressSpace.Usage;
        ulong page = (ulong)MmapAddressSpace.PageSize;
        ulong total = (ulong)usage.Quota / page, used = (ulong)usage.Reserved / page;
        return Done<StatFsReply>(new StatFsReply
        {
            Blocks = total, BlocksFree = total - used, BlocksAvailable = total - used,
            BlockSize = (uint)page, FragmentSize = (uint)page, NameMax = 255, Files = 1, FilesFree = 0,
        });
    }
}
