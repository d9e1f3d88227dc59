namespace DirectFuse.LowLevel;

/// <summary>
/// The kernel's handle on an inode. A node id becomes known to the kernel by a reply to LOOKUP, MKNOD, MKDIR,
/// SYMLINK, LINK, CREATE or READDIRPLUS; each such reply adds one to its lookup count, and FORGET subtracts.
/// The file system must keep the id valid until the count drops to zero. The root is always 1 and is never
/// forgotten.
/// </summary>
public readonly record struct NodeId(ulong Value)
{
    /// <summary>
    /// The root directory's node id, 1: known to the kernel from the mount on, never looked up and never forgotten.
    /// </summary>
    public static readonly NodeId Root = new(1);
    /// <summary>True for <see cref="Root"/>.</summary>
    public bool IsRoot => Value == 1;
    /// <summary>The id as a decimal number.</summary>
    public override string ToString() => Value.ToString();
}

/// <summary>
/// The file system's own handle for an open file or directory, chosen in the OPEN/OPENDIR/CREATE reply and
/// handed back on every request for that open file until RELEASE/RELEASEDIR.
/// </summary>
public readonly record struct FileHandle(ulong Value)
{
    /// <summary>Handle 0: for file systems that keep no per-open state (the default OPEN and OPENDIR reply).</summary>
    public static readonly FileHandle None = new(0);
    /// <summary>The id as a decimal number.</summary>
    public override string ToString() => Value.ToString();
}
