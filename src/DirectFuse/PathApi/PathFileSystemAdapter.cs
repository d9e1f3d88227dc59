using System.Collections.Concurrent;
using DirectFuse.LowLevel;
using DirectFuse.Session;

namespace DirectFuse.PathApi;

/// <summary>
/// Serves a <see cref="PathFileSystem"/> as a <see cref="LowLevelFileSystem"/> (libfuse's fuse.c): mount it
/// with <c>FuseSession.Mount(new PathFileSystemAdapter(myFs), mountPoint)</c>.
/// </summary>
/// <remarks>
/// <para>It keeps a table of the nodes the kernel knows (node id ↔ parent and name) and builds each call's
/// path from it; lookup counts follow every entry reply and FORGET, renames move whole subtrees, and node
/// ids are never reused. Entries and attributes are cached by the kernel for
/// <see cref="PathFileSystemOptions.EntryTimeout"/> and <see cref="PathFileSystemOptions.AttrTimeout"/>.</para>
/// <para>SETATTR becomes <see cref="PathFileSystem.ChmodAsync"/>, <see cref="PathFileSystem.ChownAsync"/>,
/// <see cref="PathFileSystem.TruncateAsync"/> and <see cref="PathFileSystem.UtimensAsync"/>, in that order, stopping at
/// the first error, followed by <see cref="PathFileSystem.GetAttrAsync"/>. The adapter turns off atomic O_TRUNC
/// (truncation on open arrives as <see cref="PathFileSystem.TruncateAsync"/>) and the kernel's kill-priv handling
/// (the kernel clears set-user-id bits itself with a chmod), asks for POSIX and flock locks only as the file
/// system declares them in <see cref="PathFileSystem.ServedLocks"/>, and for READDIRPLUS only with
/// <see cref="PathFileSystemOptions.ReaddirPlus"/>.</para>
/// </remarks>
public sealed partial class PathFileSystemAdapter : LowLevelFileSystem
{
    private const uint PermissionBits = 0xFFF; // 07777

    private readonly PathFileSystem _fs;
    private readonly NodeTable _nodes = new();
    private readonly ConcurrentDictionary<ulong, OpenDirectory> _directories = new();
    private readonly TimeSpan _entryTimeout, _attrTimeout;
    private long _lastDirectoryHandle;

    /// <summary>Wraps <paramref name="fileSystem"/>; <paramref name="options"/> default to libfuse's (1 s caches, hidden removal).</summary>
    public PathFileSystemAdapter(PathFileSystem fileSystem, PathFileSystemOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(fileSystem);
        _fs = fileSystem;
        Options = options ?? new PathFileSystemOptions();
        _entryTimeout = Options.EntryTimeout;
        _attrTimeout = Options.AttrTimeout;
    }

    /// <summary>The file system served.</summary>
    public PathFileSystem FileSystem => _fs;

    /// <summary>The options in force.</summary>
    public PathFileSystemOptions Options { get; }

    /// <summary>How many nodes the kernel currently holds (the root included); for diagnostics.</summary>
    public int NodeCount => _nodes.Count;

    /// <summary>The locks the path file system declares: GETLK/SETLK go to its lock calls, SETLK with the flock flag to <see cref="PathFileSystem.FlockAsync"/>.</summary>
    public override LockKinds ServedLocks => _fs.ServedLocks;

    /// <inheritdoc/>
    public override void Init(FuseConnection connection)
    {
        // No atomic O_TRUNC either: the adapter does not declare TruncatesOnOpen, so the engine never asks for it.
        var want = connection.Want & ~(InitFlags.HandleKillpriv | InitFlags.HandleKillprivV2);
        if (!Options.ReaddirPlus) want &= ~(InitFlags.DoReaddirplus | InitFlags.ReaddirplusAuto);
        connection.Want = want;
        _fs.Init(connection);
    }

    /// <inheritdoc/>
    public override void Destroy() => _fs.Destroy();

    /// <inheritdoc/>
    public override async ValueTask<Result<EntryReply>> LookupAsync(FuseContext context, NodeId parent, FileName name, CancellationToken cancellationToken)
    {
        if (ChildPath(parent, name, out string child) is not { } path) return Errno.ENOENT;
        var result = await _fs.GetAttrAsync(path, null, new PathContext(context, cancellationToken)).ConfigureAwait(false);
        if (!result.TryGetValue(out var attr))
        {
            if (result.Error == Errno.ENOENT && Options.NegativeTimeout > TimeSpan.Zero)
                return new EntryReply { NodeId = default, EntryTimeout = Options.NegativeTimeout };
            return result.Error;
        }
        return MakeEntry(parent, child, attr);
    }

    /// <inheritdoc/>
    public override void Forget(NodeId node, ulong count) => _nodes.Forget(node, count);

    /// <inheritdoc/>
    public override async ValueTask<Result<AttrReply>> GetAttrAsync(FuseContext context, NodeId node, FileHandle? handle, CancellationToken cancellationToken)
    {
        if (PathOf(node, handle is not null) is not { } path) return Errno.ENOENT;
        var result = await _fs.GetAttrAsync(path, handle, new PathContext(context, cancellationToken)).ConfigureAwait(false);
        if (!result.TryGetValue(out var attr)) return result.Error;
        Fix(ref attr, node);
        return new AttrReply(attr, _attrTimeout);
    }

    /// <inheritdoc/>
    public override async ValueTask<Result<AttrReply>> SetAttrAsync(FuseContext context, NodeId node, SetAttrRequest request, CancellationToken cancellationToken)
    {
        FileHandle? handle = request.Handle is { } h ? MapHandle(node, h) : null;
        if (PathOf(node, handle is not null) is not { } path) return Errno.ENOENT;
        var ctx = new PathContext(context, cancellationToken);
        Errno errno = Errno.Ok;
        // libfuse's order: mode, owner, size, times; a failure stops the rest.
        if (request.Has(SetAttrFields.Mode))
            errno = await _fs.ChmodAsync(path, request.Mode & PermissionBits, handle, ctx).ConfigureAwait(false);
        if (errno.IsOk && request.Has(SetAttrFields.Uid | SetAttrFields.Gid))
            errno = await _fs.ChownAsync(path, request.Has(SetAttrFields.Uid) ? request.Uid : null,
                request.Has(SetAttrFields.Gid) ? request.Gid : null, handle, ctx).ConfigureAwait(false);
        if (errno.IsOk && request.Has(SetAttrFields.Size))
            errno = await _fs.TruncateAsync(path, request.Size, handle, ctx).ConfigureAwait(false);
        if (errno.IsOk && request.Has(SetAttrFields.Atime | SetAttrFields.Mtime | SetAttrFields.AtimeNow | SetAttrFields.MtimeNow))
        {
            var now = TimeSpec.Now;
            TimeSpec? atime = request.Has(SetAttrFields.AtimeNow) ? now : request.Has(SetAttrFields.Atime) ? request.Atime : null;
            TimeSpec? mtime = request.Has(SetAttrFields.MtimeNow) ? now : request.Has(SetAttrFields.Mtime) ? request.Mtime : null;
            bool bothNow = request.Has(SetAttrFields.AtimeNow) && request.Has(SetAttrFields.MtimeNow);
            errno = await _fs.UtimensAsync(path, atime, mtime, handle, ctx with { SetsBothTimesToNow = bothNow }).ConfigureAwait(false);
        }
        if (!errno.IsOk) return errno;
        var result = await _fs.GetAttrAsync(path, handle, ctx).ConfigureAwait(false);
        if (!result.TryGetValue(out var attr)) return result.Error;
        Fix(ref attr, node);
        return new AttrReply(attr, _attrTimeout);
    }

    // ---- Helpers shared by the partial files --------------------------------------------------------------

    /// <summary>
    /// The path of <paramref name="node"/>. Calls through an open handle (<paramref name="viaHandle"/>) also work
    /// on a node whose name was removed and get the path it had then.
    /// </summary>
    private string? PathOf(NodeId node, bool viaHandle = false) => _nodes.GetPath(node, allowRemoved: viaHandle);

    /// <summary>The path of <paramref name="name"/> in <paramref name="parent"/>; the name is copied, as the request buffer is reused.</summary>
    private string? ChildPath(NodeId parent, FileName name, out string child)
    {
        child = name.Text;
        return PathOf(parent) is { } dir ? NodeTable.Join(dir, child) : null;
    }

    /// <summary>The attributes as the kernel should see them: the node id as inode number (unless use_ino), at least one link.</summary>
    private void Fix(ref FileAttr attr, NodeId node)
    {
        if (!Options.UseInodeNumbers) attr.Ino = node.Value;
        if (attr.NLink == 0) attr.NLink = 1;
    }

    /// <summary>An entry reply for <paramref name="name"/> in <paramref name="parent"/>: one more lookup reference on its node.</summary>
    private Result<EntryReply> MakeEntry(NodeId parent, string name, FileAttr attr)
    {
        if (_nodes.AddLookup(parent, name, attr.Mode) is not { } node) return Errno.ENOENT;
        Fix(ref attr, node);
        return new EntryReply(node, attr, _entryTimeout, _attrTimeout);
    }

    /// <summary>After a call that created <paramref name="path"/>: its attributes as an entry reply (libfuse's lookup_path).</summary>
    private async ValueTask<Result<EntryReply>> EntryForAsync(NodeId parent, string name, string path, FileHandle? handle, PathContext context)
    {
        var result = await _fs.GetAttrAsync(path, handle, context).ConfigureAwait(false);
        return result.TryGetValue(out var attr) ? MakeEntry(parent, name, attr) : result.Error;
    }
}
