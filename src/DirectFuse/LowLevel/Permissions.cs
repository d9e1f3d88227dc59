namespace DirectFuse.LowLevel;

/// <summary>What a caller asks to do with a node, as the mask of access(2).</summary>
[Flags]
public enum AccessMode
{
    /// <summary>Only that the node exists (F_OK): always granted.</summary>
    Exists = 0,
    /// <summary>Execute a file, or search (look names up in) a directory.</summary>
    Execute = 1,
    /// <summary>Change the contents of a file, or add and remove names in a directory.</summary>
    Write = 2,
    /// <summary>Read a file, or list a directory.</summary>
    Read = 4,
}

/// <summary>The file type and mode bits, owner and group of a node: everything a permission check reads.</summary>
/// <param name="Mode">File type and permission bits, as <see cref="FileAttr.Mode"/>.</param>
/// <param name="Uid">The owner.</param>
/// <param name="Gid">The group.</param>
public readonly record struct Ownership(uint Mode, uint Uid, uint Gid)
{
    /// <summary>The ownership part of <paramref name="attr"/>.</summary>
    public static Ownership Of(in FileAttr attr) => new(attr.Mode, attr.Uid, attr.Gid);

    /// <summary>True for a directory.</summary>
    public bool IsDirectory => StatMode.IsDirectory(Mode);
}

/// <summary>
/// The permission rules of Linux (generic_permission, may_delete, setattr_prepare, inode_init_owner), for file
/// systems that keep owners and modes and must enforce them themselves: without the <c>default_permissions</c>
/// mount option the kernel checks nothing but execute permission, and with <c>allow_other</c> every user of
/// the machine reaches the server. Each call is one rule; answers are the errno Linux gives.
/// </summary>
/// <remarks>
/// <para>A caller with uid 0 holds every capability (CAP_DAC_OVERRIDE, CAP_FOWNER, CAP_CHOWN, CAP_FSETID), as
/// FUSE servers commonly assume; capabilities of other users are not consulted. Supplementary groups come
/// from <see cref="FuseContext.IsInGroup"/>, read only when the answer depends on them.</para>
/// <para>To clear set-user-ID and set-group-ID bits as Linux does on writes, truncation and chown by others, a
/// file system asks for <see cref="InitFlags.HandleKillprivV2"/> in <see cref="LowLevelFileSystem.Init"/>
/// (<c>connection.Want |= InitFlags.HandleKillprivV2</c>) and applies <see cref="ModeAfterSetAttr"/>,
/// <see cref="ModeAfterWrite"/> and <see cref="ModeAfterTruncatingOpen"/>. And when other users may reach the mount
/// (<c>allow_other</c>) without <c>default_permissions</c>, give entries a zero timeout: the kernel then asks
/// for every path component, in the caller's name, so a directory's search permission is checked for each
/// caller instead of once for whoever looked the name up first. Kernels without it (before 5.11, protocol 7.33)
/// clear the bits themselves with a SETATTR of the mode in the writer's name: <see cref="CheckSetAttr"/> lets a
/// caller who may write the file make exactly that change, as Linux lets any writer cause it. Those kernels do
/// not drop set-group-ID without group-execute, nor the bits at an O_TRUNC open (tmpfs does).</para>
/// </remarks>
public static class Permissions
{
    private const uint GroupExecute = 0x8; // S_IXGRP
    private const uint AnyExecute = 0x49;  // S_IXUSR | S_IXGRP | S_IXOTH
    private const int AccessModeMask = 3, WriteOnly = 1, ReadWrite = 2, Truncate = 0x200;

    /// <summary>Whether the caller counts as privileged (uid 0).</summary>
    public static bool IsPrivileged(in FuseContext caller) => caller.Uid == 0;

    /// <summary>Whether <paramref name="caller"/> is the owner of <paramref name="node"/> or privileged (inode_owner_or_capable).</summary>
    public static bool IsOwnerOrPrivileged(in FuseContext caller, Ownership node) => caller.Uid == node.Uid || IsPrivileged(caller);

    /// <summary>
    /// Whether <paramref name="caller"/> may <paramref name="wanted"/> <paramref name="node"/>: the owner's bits
    /// for the owner (even when the group's or others' would allow more), the group's for members, others' for
    /// the rest; root may do anything but execute a file that has no execute bit at all.
    /// </summary>
    public static bool MayAccess(in FuseContext caller, Ownership node, AccessMode wanted)
    {
        uint mask = (uint)wanted & 7;
        if (mask == 0) return true;
        if (IsPrivileged(caller)) return (mask & (uint)AccessMode.Execute) == 0 || node.IsDirectory || (node.Mode & AnyExecute) != 0;
        uint mode = node.Mode;
        if (caller.Uid == node.Uid) return (mask & ~(mode >> 6)) == 0;
        // Group membership costs a look at /proc: only ask when the group's bits and others' differ where it matters.
        if ((mask & ((mode >> 3) ^ mode)) != 0 && caller.IsInGroup(node.Gid)) return (mask & ~(mode >> 3)) == 0;
        return (mask & ~mode) == 0;
    }

    /// <summary><see cref="MayAccess"/> as an errno: EACCES when refused.</summary>
    public static Errno CheckAccess(in FuseContext caller, Ownership node, AccessMode wanted) =>
        MayAccess(caller, node, wanted) ? Errno.Ok : Errno.EACCES;

    /// <summary>The access open(2) with <paramref name="openFlags"/> needs: by O_ACCMODE, and write for O_TRUNC.</summary>
    public static AccessMode ForOpen(int openFlags)
    {
        var mode = (openFlags & AccessModeMask) switch
        {
            WriteOnly => AccessMode.Write,
            ReadWrite => AccessMode.Read | AccessMode.Write,
            _ => AccessMode.Read,
        };
        return (openFlags & Truncate) != 0 ? mode | AccessMode.Write : mode;
    }

    /// <summary>Whether a name may be added to <paramref name="directory"/>: write and search permission (EACCES).</summary>
    public static Errno CheckCreate(in FuseContext caller, Ownership directory) =>
        CheckAccess(caller, directory, AccessMode.Write | AccessMode.Execute);

    /// <summary>
    /// Whether the name of <paramref name="victim"/> may be removed from (or replaced in, or renamed away from)
    /// <paramref name="directory"/>: write and search permission on the directory (EACCES), and in a sticky
    /// directory only the owner of the entry or of the directory, or root (EPERM).
    /// </summary>
    public static Errno CheckRemove(in FuseContext caller, Ownership directory, Ownership victim)
    {
        var errno = CheckCreate(caller, directory);
        if (!errno.IsOk) return errno;
        bool sticky = (directory.Mode & StatMode.Sticky) != 0;
        return !sticky || caller.Uid == victim.Uid || caller.Uid == directory.Uid || IsPrivileged(caller) ? Errno.Ok : Errno.EPERM;
    }

    /// <summary>
    /// Whether a directory may move to another parent: its ".." changes, which needs write permission on it (EACCES).
    /// Call it for each directory of a rename that changes parent (both, for RENAME_EXCHANGE).
    /// </summary>
    public static Errno CheckReparent(in FuseContext caller, Ownership directory) =>
        directory.IsDirectory ? CheckAccess(caller, directory, AccessMode.Write) : Errno.Ok;

    /// <summary>
    /// Whether SETATTR <paramref name="request"/> may change <paramref name="node"/>, as setattr_prepare decides:
    /// chmod and explicit times need the owner (EPERM); chown needs root, or the owner keeping the owner;
    /// chgrp needs root, or the owner giving the file to one of their groups (EPERM); setting both times to
    /// "now" needs the owner or write permission (EACCES); truncate(2) by path needs write permission (EACCES;
    /// ftruncate comes with a handle the kernel already checked was opened for writing).
    /// </summary>
    public static Errno CheckSetAttr(in FuseContext caller, Ownership node, in SetAttrRequest request)
    {
        bool owner = IsOwnerOrPrivileged(caller, node);
        if (request.Has(SetAttrFields.Size) && request.Handle is null && !MayAccess(caller, node, AccessMode.Write)) return Errno.EACCES;
        if (request.Has(SetAttrFields.Uid) && !IsPrivileged(caller) && (caller.Uid != node.Uid || request.Uid != node.Uid)) return Errno.EPERM;
        if (request.Has(SetAttrFields.Gid) && !IsPrivileged(caller)
            && (caller.Uid != node.Uid || (request.Gid != node.Gid && !caller.IsInGroup(request.Gid))))
            return Errno.EPERM;
        if (request.Has(SetAttrFields.Mode) && !owner && !OnlyDropsSetId(caller, node, request)) return Errno.EPERM;
        bool setAtime = request.Has(SetAttrFields.Atime), setMtime = request.Has(SetAttrFields.Mtime);
        if ((setAtime || setMtime) && !owner)
        {
            // utimes(NULL) or both UTIME_NOW: write permission is enough. Anything else (an explicit time, or
            // one time "now" and the other left alone) is for the owner only, as in Linux.
            bool touch = setAtime && setMtime && request.Has(SetAttrFields.AtimeNow) && request.Has(SetAttrFields.MtimeNow);
            if (!touch) return Errno.EPERM;
            if (!MayAccess(caller, node, AccessMode.Write)) return Errno.EACCES;
        }
        return Errno.Ok;
    }

    /// <summary>
    /// A mode change that only clears set-user-ID and/or set-group-ID, by a caller who may write the file: what
    /// kernels before HANDLE_KILLPRIV_V2 (5.11) send, in the writer's name, before a write or truncation by
    /// someone other than the owner. Linux lets any writer cause it; it only ever takes privileges away.
    /// </summary>
    private static bool OnlyDropsSetId(in FuseContext caller, Ownership node, in SetAttrRequest request)
    {
        const uint SetIdBits = StatMode.SetUid | StatMode.SetGid;
        uint now = node.Mode & 0xFFF, asked = request.Mode & 0xFFF;
        return !node.IsDirectory && asked != now && (asked | SetIdBits) == (now | SetIdBits) && (asked & ~now) == 0
            && !request.Has(SetAttrFields.Uid) && !request.Has(SetAttrFields.Gid)
            && MayAccess(caller, node, AccessMode.Write);
    }

    /// <summary>
    /// The mode after an allowed SETATTR <paramref name="request"/>: a new mode loses set-group-ID unless the
    /// caller is in the file's (new) group or privileged; chown of a non-directory, and truncation, with
    /// <see cref="SetAttrFields.KillSuidGid"/> (HANDLE_KILLPRIV_V2) drop set-user-ID and group-executable set-group-ID.
    /// </summary>
    public static uint ModeAfterSetAttr(in FuseContext caller, Ownership node, in SetAttrRequest request)
    {
        uint mode = node.Mode;
        if (request.Has(SetAttrFields.Mode))
        {
            mode = (node.Mode & StatMode.TypeMask) | (request.Mode & 0xFFF);
            uint group = request.Has(SetAttrFields.Gid) ? request.Gid : node.Gid;
            if ((mode & StatMode.SetGid) != 0 && !IsPrivileged(caller) && !caller.IsInGroup(group)) mode &= ~StatMode.SetGid;
        }
        if (request.Has(SetAttrFields.KillSuidGid) && !node.IsDirectory) mode = DropSetId(caller, node with { Mode = mode });
        return mode;
    }

    /// <summary>The mode after a WRITE: the kernel says with <see cref="WriteFlags.KillSuidGid"/> when the writer lacks CAP_FSETID.</summary>
    public static uint ModeAfterWrite(in FuseContext caller, Ownership node, WriteFlags flags) =>
        (flags & WriteFlags.KillSuidGid) != 0 ? DropSetId(caller, node) : node.Mode;

    /// <summary>The mode after an OPEN or CREATE with O_TRUNC emptied a file: see <see cref="FuseContext.KillSuidSgid"/>.</summary>
    public static uint ModeAfterTruncatingOpen(in FuseContext caller, Ownership node) => caller.KillSuidSgid ? DropSetId(caller, node) : node.Mode;

    /// <summary>
    /// The mode once <paramref name="caller"/> changed the file in a way that costs its privileges (a write,
    /// truncation or chown, as setattr_should_drop_suidgid decides): set-user-ID goes; set-group-ID goes when
    /// group-executable, or when the caller is not in the file's group (then the bit cannot mean mandatory
    /// locking for them).
    /// </summary>
    public static uint DropSetId(in FuseContext caller, Ownership node)
    {
        uint mode = node.Mode & ~StatMode.SetUid;
        if ((mode & StatMode.SetGid) != 0 && ((mode & GroupExecute) != 0 || (!IsPrivileged(caller) && !caller.IsInGroup(node.Gid))))
            mode &= ~StatMode.SetGid;
        return mode;
    }

    /// <summary>
    /// Whether <paramref name="caller"/> may make a new hard link to <paramref name="source"/>: its owner or root
    /// may; others only to a regular file they may read and write that is neither set-user-ID nor executable
    /// set-group-ID (EPERM), as Linux with fs.protected_hardlinks=1, every major distribution's default.
    /// </summary>
    public static Errno CheckHardLink(in FuseContext caller, Ownership source)
    {
        if (IsOwnerOrPrivileged(caller, source)) return Errno.Ok;
        bool safe = StatMode.IsRegular(source.Mode) && (source.Mode & StatMode.SetUid) == 0
            && (source.Mode & (StatMode.SetGid | GroupExecute)) != (StatMode.SetGid | GroupExecute)
            && MayAccess(caller, source, AccessMode.Read | AccessMode.Write);
        return safe ? Errno.Ok : Errno.EPERM;
    }

    /// <summary>
    /// Owner, group and mode of a node that <paramref name="caller"/> creates in <paramref name="directory"/>
    /// with <paramref name="mode"/> (umask applied): the caller's uid; the directory's group when it is
    /// set-group-ID (and a new directory inherits that bit), else the caller's gid; a group-executable
    /// set-group-ID non-directory in such a directory keeps the bit only for members of that group.
    /// </summary>
    public static Ownership ForNewNode(in FuseContext caller, Ownership directory, uint mode)
    {
        uint gid = caller.Gid;
        if ((directory.Mode & StatMode.SetGid) != 0)
        {
            gid = directory.Gid;
            if (StatMode.IsDirectory(mode)) mode |= StatMode.SetGid;
            else if ((mode & (StatMode.SetGid | GroupExecute)) == (StatMode.SetGid | GroupExecute)
                     && !IsPrivileged(caller) && !caller.IsInGroup(gid))
                mode &= ~StatMode.SetGid;
        }
        return new Ownership(mode, caller.Uid, gid);
    }
}
