using DirectFuse.DirectMmap;
using DirectFuse.Examples.Shmfs;

namespace DirectFuse.Tests.Security;

/// <summary>shmfs answers every caller like tmpfs, with and without default_permissions (always allow_other).</summary>
public sealed class ShmfsPermissionParityTests
{
    /// <summary>
    /// shmfs has only regular files (memory regions) and directories by design: no hard links, symlinks, device
    /// nodes or fifos, and no extended attributes. Sizes of files opened through passthrough are sealed, so the
    /// battery never grows an existing file (every write is inside the file), and needs no exclusion for that.
    /// </summary>
    private static readonly IReadOnlyList<string> Excluded = AttackerBattery.LinksNodesAndXattrs;

    [Theory]
    [MemberData(nameof(PermissionParity.Variants), MemberType = typeof(PermissionParity))]
    public void Same_answers_and_same_tree_as_tmpfs(bool defaultPermissions, Caller caller) =>
        PermissionParity.AssertSameAsTmpfs("shmfs", new ShmFileSystem(new MmapAddressSpaceOptions { Quota = 64L << 20 }),
            defaultPermissions, caller, Excluded);
}
