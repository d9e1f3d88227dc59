using DirectFuse.DirectMmap;
using DirectFuse.Examples.Shmfs;
using DirectFuse.Session;
using DirectFuse.Tests.Infrastructure;
using DirectFuse.Transport;

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
    [InlineData(true, Caller.NobodyWithSupplementaryGroup)]
    [InlineData(true, Caller.NobodyWithoutGroups)]
    [InlineData(true, Caller.Root)]
    [InlineData(false, Caller.NobodyWithSupplementaryGroup)]
    [InlineData(false, Caller.NobodyWithoutGroups)]
    [InlineData(false, Caller.Root)]
    public void Same_answers_and_same_tree_as_tmpfs(bool defaultPermissions, Caller caller) =>
        PermissionParity.AssertSameAsTmpfs(
            $"shmfs ({(defaultPermissions ? "" : "no ")}default_permissions)",
            () => TempMount.Create(
                new ShmFileSystem(new MmapAddressSpaceOptions { Quota = 64L << 20 }),
                new FuseSessionOptions { Mount = new MountOptions { AllowOther = true, DefaultPermissions = defaultPermissions, Subtype = "test" } }),
            caller, Excluded);
}
