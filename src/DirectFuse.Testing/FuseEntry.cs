namespace DirectFuse.Testing;

/// <summary>
/// A name's entry as the kernel received it (struct fuse_entry_out): the node it names and its attributes. Every
/// successful LOOKUP, MKDIR, MKNOD, SYMLINK, LINK and CREATE with a node id other than 0 gives the file system's
/// node one more lookup reference, which the kernel later returns with FORGET (<see cref="FuseTestClient.ForgetAsync"/>).
/// </summary>
public sealed record FuseEntry
{
    /// <summary>The node id the kernel uses for this file from now on; 0 for a negative entry (a cached "no such name").</summary>
    public ulong NodeId { get; init; }
    /// <summary>The generation: (node id, generation) is unique for the life of the file system.</summary>
    public ulong Generation { get; init; }
    /// <summary>How long the kernel may cache the name.</summary>
    public TimeSpan EntryTimeout { get; init; }
    /// <summary>The file's attributes.</summary>
    public required FuseAttributes Attributes { get; init; }

    /// <summary>True for a negative entry: the name does not exist, and the kernel may remember that for <see cref="EntryTimeout"/>.</summary>
    public bool IsNegative => NodeId == 0;
}
