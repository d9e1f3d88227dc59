using DirectFuse.Testing.Wire;

namespace DirectFuse.Testing;

public partial class FuseTestClient
{
    /// <summary>LOOKUP: finds <paramref name="name"/> in the directory <paramref name="parentId"/> (what every path walk does).</summary>
    /// <param name="parentId">The directory's node id.</param>
    /// <param name="name">One path component.</param>
    /// <param name="cancellationToken">Interrupts the request (an INTERRUPT is sent, as for a signal) and still waits for its reply.</param>
    /// <returns>The entry (one more lookup reference unless negative), or the errno.</returns>
    public Task<FuseReply<FuseEntry>> LookupAsync(ulong parentId, string name, CancellationToken cancellationToken = default)
    {
        string op = Describe(Opcodes.Lookup, parentId, $"{Quote(name)} in node {parentId}");
        return CallAsync(Opcodes.Lookup, parentId, new WireWriter().Name(name), op, p => ParseEntry(p, 0, Opcodes.Lookup, op), cancellationToken);
    }

    /// <summary>
    /// Looks up each component of <paramref name="path"/> from the root, as the kernel walks a path: "a/b/c" and
    /// "/a/b/c" are the same. Each component found takes a lookup reference. The root itself is answered with a
    /// GETATTR (the kernel never looks the root up).
    /// </summary>
    /// <param name="path">A path relative to the mount's root.</param>
    /// <param name="cancellationToken">Interrupts the request in flight.</param>
    /// <returns>The last component's entry, or the first errno on the way (ENOENT for a negative entry).</returns>
    public async Task<FuseReply<FuseEntry>> LookupPathAsync(string path, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(path);
        var parts = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length == 0)
        {
            var root = await GetAttrAsync(FuseTestKernel.RootNodeId, cancellationToken: cancellationToken).ConfigureAwait(false);
            return root.TryGetValue(out var attr)
                ? new FuseReply<FuseEntry>(root.Operation, Errno.Ok, new FuseEntry { NodeId = FuseTestKernel.RootNodeId, Attributes = attr })
                : new FuseReply<FuseEntry>(root.Operation, root.Errno, null);
        }
        ulong parent = FuseTestKernel.RootNodeId;
        FuseReply<FuseEntry>? reply = null;
        foreach (var part in parts)
        {
            reply = await LookupAsync(parent, part, cancellationToken).ConfigureAwait(false);
            string op = $"LOOKUP of path {Quote(path)} at {Quote(part)}";
            if (!reply.TryGetValue(out var entry)) return new FuseReply<FuseEntry>(op, reply.Errno, null);
            if (entry.IsNegative) return new FuseReply<FuseEntry>(op + " (negative entry)", Errno.ENOENT, null);
            parent = entry.NodeId;
        }
        return reply!;
    }

    /// <summary>GETATTR: a node's attributes (stat, fstat).</summary>
    /// <param name="nodeId">The node.</param>
    /// <param name="handle">The open file to ask through (fstat), or null.</param>
    /// <param name="cancellationToken">Interrupts the request.</param>
    /// <returns>The attributes, or the errno.</returns>
    public Task<FuseReply<FuseAttributes>> GetAttrAsync(ulong nodeId, ulong? handle = null, CancellationToken cancellationToken = default)
    {
        string op = Describe(Opcodes.GetAttr, nodeId);
        var args = new WireWriter().U32(handle is null ? 0u : 1u).U32(0).U64(handle ?? 0);
        return CallAsync(Opcodes.GetAttr, nodeId, args, op, p => ParseAttrOut(p, nodeId, op), cancellationToken);
    }

    /// <summary>SETATTR: changes a node's size, mode, owner or times (truncate, chmod, chown, utimensat).</summary>
    /// <param name="nodeId">The node.</param>
    /// <param name="changes">What to change; what is left null stays.</param>
    /// <param name="cancellationToken">Interrupts the request.</param>
    /// <returns>The attributes after the change, or the errno.</returns>
    public Task<FuseReply<FuseAttributes>> SetAttrAsync(ulong nodeId, FuseSetAttributes changes, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(changes);
        // FATTR_* bits of fuse_setattr_in.valid.
        uint valid = (changes.Mode is null ? 0 : 1u) | (changes.Uid is null ? 0 : 2u) | (changes.Gid is null ? 0 : 4u)
            | (changes.Size is null ? 0 : 8u) | (changes.AccessTime is null && !changes.AccessTimeNow ? 0 : 16u)
            | (changes.ModificationTime is null && !changes.ModificationTimeNow ? 0 : 32u) | (changes.Handle is null ? 0 : 64u)
            | (changes.AccessTimeNow ? 128u : 0) | (changes.ModificationTimeNow ? 256u : 0);
        var (atime, atimeNs) = UnixTime(changes.AccessTime);
        var (mtime, mtimeNs) = UnixTime(changes.ModificationTime);
        var args = new WireWriter().U32(valid).U32(0).U64(changes.Handle ?? 0).U64((ulong)(changes.Size ?? 0)).U64(0)
            .U64(atime).U64(mtime).U64(0).U32(atimeNs).U32(mtimeNs).U32(0)
            .U32(changes.Mode ?? 0).U32(0).U32(changes.Uid ?? 0).U32(changes.Gid ?? 0).U32(0);
        string op = Describe(Opcodes.SetAttr, nodeId);
        return CallAsync(Opcodes.SetAttr, nodeId, args, op, p => ParseAttrOut(p, nodeId, op), cancellationToken);
    }

    private static (ulong Seconds, uint Nanoseconds) UnixTime(DateTimeOffset? time)
    {
        if (time is not { } t) return (0, 0);
        long ticks = t.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks;
        long seconds = Math.DivRem(ticks, TimeSpan.TicksPerSecond, out long rest);
        if (rest < 0) { seconds--; rest += TimeSpan.TicksPerSecond; }
        return ((ulong)seconds, (uint)(rest * 100));
    }

    /// <summary>MKDIR: creates a directory.</summary>
    /// <param name="parentId">The directory to create it in.</param>
    /// <param name="name">Its name.</param>
    /// <param name="mode">Permission bits, as the file system receives them (after the caller's umask).</param>
    /// <param name="cancellationToken">Interrupts the request.</param>
    /// <returns>The new directory's entry, or the errno.</returns>
    public Task<FuseReply<FuseEntry>> MkdirAsync(ulong parentId, string name, uint mode = 0x1ED, CancellationToken cancellationToken = default)
    {
        string op = Describe(Opcodes.MkDir, parentId, $"{Quote(name)} in node {parentId}");
        var args = new WireWriter().U32(mode).U32(0).Name(name);
        return CallAsync(Opcodes.MkDir, parentId, args, op, p => ParseEntry(p, 0, Opcodes.MkDir, op), cancellationToken);
    }

    /// <summary>MKNOD: creates a special file (FIFO, socket, device) or, from mknod(2), a regular file.</summary>
    /// <param name="parentId">The directory to create it in.</param>
    /// <param name="name">Its name.</param>
    /// <param name="mode">The whole mode: file type bits (S_IFIFO 0x1000, S_IFCHR 0x2000, ...) and permission bits.</param>
    /// <param name="rdev">The device number of a device file.</param>
    /// <param name="cancellationToken">Interrupts the request.</param>
    /// <returns>The new file's entry, or the errno.</returns>
    public Task<FuseReply<FuseEntry>> MknodAsync(ulong parentId, string name, uint mode, uint rdev = 0, CancellationToken cancellationToken = default)
    {
        string op = Describe(Opcodes.MkNod, parentId, $"{Quote(name)} in node {parentId}");
        var args = new WireWriter().U32(mode).U32(rdev).U32(0).U32(0).Name(name);
        return CallAsync(Opcodes.MkNod, parentId, args, op, p => ParseEntry(p, 0, Opcodes.MkNod, op), cancellationToken);
    }

    /// <summary>SYMLINK: creates a symbolic link <paramref name="name"/> pointing at <paramref name="target"/>.</summary>
    /// <param name="parentId">The directory to create it in.</param>
    /// <param name="name">The link's name.</param>
    /// <param name="target">What it points at (any text; not resolved).</param>
    /// <param name="cancellationToken">Interrupts the request.</param>
    /// <returns>The link's entry, or the errno.</returns>
    public Task<FuseReply<FuseEntry>> SymlinkAsync(ulong parentId, string name, string target, CancellationToken cancellationToken = default)
    {
        string op = Describe(Opcodes.SymLink, parentId, $"{Quote(name)} -> {Quote(target)} in node {parentId}");
        return CallAsync(Opcodes.SymLink, parentId, new WireWriter().Name(name).Name(target), op, p => ParseEntry(p, 0, Opcodes.SymLink, op), cancellationToken);
    }

    /// <summary>LINK: gives the node <paramref name="nodeId"/> another name (a hard link).</summary>
    /// <param name="nodeId">The existing node.</param>
    /// <param name="newParentId">The directory of the new name.</param>
    /// <param name="newName">The new name.</param>
    /// <param name="cancellationToken">Interrupts the request.</param>
    /// <returns>The new name's entry, or the errno.</returns>
    public Task<FuseReply<FuseEntry>> LinkAsync(ulong nodeId, ulong newParentId, string newName, CancellationToken cancellationToken = default)
    {
        string op = Describe(Opcodes.Link, nodeId, $"node {nodeId} as {Quote(newName)} in node {newParentId}");
        return CallAsync(Opcodes.Link, newParentId, new WireWriter().U64(nodeId).Name(newName), op, p => ParseEntry(p, 0, Opcodes.Link, op), cancellationToken);
    }

    /// <summary>UNLINK: removes a name that is not a directory.</summary>
    /// <param name="parentId">The directory.</param>
    /// <param name="name">The name to remove.</param>
    /// <param name="cancellationToken">Interrupts the request.</param>
    /// <returns>Success or the errno.</returns>
    public Task<FuseReply> UnlinkAsync(ulong parentId, string name, CancellationToken cancellationToken = default) =>
        CallEmptyAsync(Opcodes.Unlink, parentId, new WireWriter().Name(name), Describe(Opcodes.Unlink, parentId, $"{Quote(name)} in node {parentId}"), cancellationToken);

    /// <summary>RMDIR: removes an empty directory.</summary>
    /// <param name="parentId">The directory holding it.</param>
    /// <param name="name">The directory's name.</param>
    /// <param name="cancellationToken">Interrupts the request.</param>
    /// <returns>Success or the errno.</returns>
    public Task<FuseReply> RmdirAsync(ulong parentId, string name, CancellationToken cancellationToken = default) =>
        CallEmptyAsync(Opcodes.RmDir, parentId, new WireWriter().Name(name), Describe(Opcodes.RmDir, parentId, $"{Quote(name)} in node {parentId}"), cancellationToken);

    /// <summary>RENAME (or RENAME2 with flags): moves a name, replacing the target unless told otherwise.</summary>
    /// <param name="parentId">The directory holding the name.</param>
    /// <param name="name">The name.</param>
    /// <param name="newParentId">The directory to move it to.</param>
    /// <param name="newName">The new name.</param>
    /// <param name="flags">renameat2 flags: RENAME_NOREPLACE (1), RENAME_EXCHANGE (2), RENAME_WHITEOUT (4); 0 sends a plain RENAME.</param>
    /// <param name="cancellationToken">Interrupts the request.</param>
    /// <returns>Success or the errno.</returns>
    public Task<FuseReply> RenameAsync(ulong parentId, string name, ulong newParentId, string newName, uint flags = 0, CancellationToken cancellationToken = default)
    {
        var args = flags == 0 ? new WireWriter().U64(newParentId) : new WireWriter().U64(newParentId).U32(flags).U32(0);
        uint opcode = flags == 0 ? Opcodes.Rename : Opcodes.Rename2;
        return CallEmptyAsync(opcode, parentId, args.Name(name).Name(newName),
            Describe(opcode, parentId, $"{Quote(name)} in node {parentId} to {Quote(newName)} in node {newParentId}"), cancellationToken);
    }

    /// <summary>READLINK: a symbolic link's target.</summary>
    /// <param name="nodeId">The link.</param>
    /// <param name="cancellationToken">Interrupts the request.</param>
    /// <returns>The target, or the errno.</returns>
    public Task<FuseReply<string>> ReadLinkAsync(ulong nodeId, CancellationToken cancellationToken = default) =>
        CallAsync(Opcodes.ReadLink, nodeId, new WireWriter(), Describe(Opcodes.ReadLink, nodeId), p => System.Text.Encoding.UTF8.GetString(p), cancellationToken);

    /// <summary>
    /// FORGET: returns <paramref name="count"/> lookup references on a node, as the kernel does when it drops an
    /// inode. It takes no reply; with one worker thread (the default) the file system has handled it before it
    /// answers the next request.
    /// </summary>
    /// <param name="nodeId">The node.</param>
    /// <param name="count">How many references to return; at most what entries gave (<see cref="LookupCount"/>).</param>
    /// <returns>A task that completes once the request is sent.</returns>
    public Task ForgetAsync(ulong nodeId, ulong count = 1)
    {
        _connection.Send(Opcodes.Forget, nodeId, new WireWriter().U64(count).ToArray(), Caller, Describe(Opcodes.Forget, nodeId));
        _connection.Nodes.Forgotten(nodeId, count);
        return Task.CompletedTask;
    }
}
