using DirectFuse.Examples.MemFs;

namespace DirectFuse.Tests.Security;

/// <summary>memfs answers every caller like tmpfs, with and without default_permissions (always allow_other).</summary>
public sealed class MemFsPermissionParityTests
{
    /// <summary>memfs has links, symlinks, fifos and xattrs: nothing is left out.</summary>
    private static readonly string[] Excluded = [];

    [Theory]
    [MemberData(nameof(PermissionParity.Variants), MemberType = typeof(PermissionParity))]
    public void Same_answers_and_same_tree_as_tmpfs(bool defaultPermissions, Caller caller) =>
        PermissionParity.AssertSameAsTmpfs("memfs",
            new MemFileSystem(new MemFileSystemOptions { RootMode = HostileScenario.RootMode, RootUid = 0, RootGid = 0 }),
            defaultPermissions, caller, Excluded);
}
