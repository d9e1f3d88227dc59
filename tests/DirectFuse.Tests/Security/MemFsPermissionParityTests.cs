using DirectFuse.Examples.MemFs;
using DirectFuse.Session;
using DirectFuse.Tests.Infrastructure;
using DirectFuse.Transport;

namespace DirectFuse.Tests.Security;

/// <summary>memfs answers every caller like tmpfs, with and without default_permissions (always allow_other).</summary>
public sealed class MemFsPermissionParityTests
{
    /// <summary>memfs has links, symlinks, fifos and xattrs: nothing is left out.</summary>
    private static readonly string[] Excluded = [];

    [Theory]
    [InlineData(true, Caller.NobodyWithSupplementaryGroup)]
    [InlineData(true, Caller.NobodyWithoutGroups)]
    [InlineData(true, Caller.Root)]
    [InlineData(false, Caller.NobodyWithSupplementaryGroup)]
    [InlineData(false, Caller.NobodyWithoutGroups)]
    [InlineData(false, Caller.Root)]
    public void Same_answers_and_same_tree_as_tmpfs(bool defaultPermissions, Caller caller) =>
        PermissionParity.AssertSameAsTmpfs(
            $"memfs ({(defaultPermissions ? "" : "no ")}default_permissions)",
            () => TempMount.Create(
                new MemFileSystem(new MemFileSystemOptions { RootMode = HostileScenario.RootMode, RootUid = 0, RootGid = 0 }),
                new FuseSessionOptions { Mount = new MountOptions { AllowOther = true, DefaultPermissions = defaultPermissions, Subtype = "test" } }),
            caller, Excluded);
}
