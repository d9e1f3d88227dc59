using DirectFuse.Tests.Infrastructure;

namespace DirectFuse.Tests.Cli;

/// <summary>
/// The administrator's ways in: mount(8) with -t fuse.directfuse, an fstab line (a temporary fstab, mount -T),
/// mount.fuse3 with type#source, and mount.fuse3's drop_privileges (which hands the server /dev/fd/N). Each runs
/// in a private mount namespace (<see cref="MountNamespace"/>) where mount.fuse3's /bin/sh finds our directfuse.
/// </summary>
public sealed class MountProgramTests
{
    private static string NewMountPoint() => Directory.CreateTempSubdirectory("df-mount8-").FullName;

    /// <summary>Mounts with <paramref name="mountCommand"/>, writes at once, unmounts with umount, and checks that the daemon is gone.</summary>
    private static void MountUseUnmount(MountNamespace ns, string mnt, string mountCommand, string expectedSource)
    {
        // In one shell: the file is created the moment mount(8) returns.
        var mounted = ns.Shell($"{mountCommand} && echo live > '{mnt}/f' && cat '{mnt}/f'");
        Assert.True(mounted.ExitCode == 0, $"{mountCommand}: exit {mounted.ExitCode}\n{mounted.StdOut}{mounted.StdErr}");
        Assert.Equal("live", mounted.StdOut.Trim());
        Assert.Equal("", mounted.StdErr);
        Assert.StartsWith($"{expectedSource} {mnt} fuse.directfuse ", ns.MountLine(mnt));
        Assert.Single(ns.OtherProcesses()); // the daemon, and nothing else left behind
        ns.Run("umount", mnt).EnsureSuccess("umount");
        Assert.False(ns.IsFuseMounted(mnt));
        Assert.True(ns.WaitUntilOnlyTheHolderIsLeft(TimeSpan.FromSeconds(10)), "the daemon outlived its mount");
    }

    [Fact]
    public void Mount_t_fuse_directfuse_returns_once_live_and_umount_ends_the_daemon()
    {
        using var ns = MountNamespace.Create();
        string mnt = NewMountPoint();
        try
        {
            MountUseUnmount(ns, mnt, $"mount -t fuse.directfuse memfs '{mnt}' -o nofail,_netdev,x-systemd.automount,noatime", "memfs");
            MountUseUnmount(ns, mnt, $"mount -t fuse.directfuse shmfs '{mnt}' -o quota=8M,max_file=1M,allow_other", "shmfs");
        }
        finally
        {
            Directory.Delete(mnt);
        }
    }

    [Fact]
    public void An_fstab_line_mounts_with_mount_T()
    {
        using var ns = MountNamespace.Create();
        string mnt = NewMountPoint();
        string fstab = Path.Combine(Path.GetTempPath(), $"df-fstab-{Guid.NewGuid():N}");
        try
        {
            File.WriteAllText(fstab, $"# a test fstab\nshmfs {mnt} fuse.directfuse quota=8M,max_file=1M,noauto,nofail,_netdev,x-systemd.requires=network.target,comment=x 0 0\n");
            MountUseUnmount(ns, mnt, $"mount -T '{fstab}' '{mnt}'", "shmfs");
        }
        finally
        {
            File.Delete(fstab);
            Directory.Delete(mnt);
        }
    }

    [Fact]
    public void Mount_fuse3_takes_type_hash_source_and_a_loopback_directory()
    {
        using var ns = MountNamespace.Create();
        string mnt = NewMountPoint();
        string source = Directory.CreateTempSubdirectory("df-src-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(source, "present"), "x");
            MountUseUnmount(ns, mnt, $"mount.fuse3 'directfuse#loopback:{source}' '{mnt}' -o default_permissions", $"loopback:{source}");
            Assert.True(File.Exists(Path.Combine(source, "f")), "the write did not reach the source directory");
        }
        finally
        {
            Directory.Delete(source, recursive: true);
            Directory.Delete(mnt);
        }
    }

    [Fact]
    public void Drop_privileges_hands_the_daemon_an_already_mounted_dev_fd()
    {
        using var ns = MountNamespace.Create();
        string mnt = NewMountPoint();
        try
        {
            // mount.fuse3 opens /dev/fuse, mounts, drops every capability and runs 'directfuse memfs /dev/fd/N'.
            MountUseUnmount(ns, mnt, $"mount -t fuse.directfuse memfs '{mnt}' -o drop_privileges", "directfuse");
        }
        finally
        {
            Directory.Delete(mnt);
        }
    }

    [Fact]
    public void A_failed_mount_is_reported_through_mount8_with_a_non_zero_exit()
    {
        using var ns = MountNamespace.Create();
        string mnt = NewMountPoint();
        try
        {
            var badOption = ns.Shell($"mount -t fuse.directfuse memfs '{mnt}' -o bogus");
            Assert.NotEqual(0, badOption.ExitCode);
            Assert.Contains("directfuse: unknown or malformed mount option 'bogus'", badOption.StdErr);
            var badSource = ns.Shell($"mount -t fuse.directfuse nofs '{mnt}'");
            Assert.NotEqual(0, badSource.ExitCode);
            Assert.Contains("directfuse: unknown source 'nofs'", badSource.StdErr);
            var missing = ns.Shell("mount -t fuse.directfuse memfs /nonexistent/df-mnt");
            Assert.NotEqual(0, missing.ExitCode);
            Assert.Contains("does not exist", missing.StdErr);
            Assert.False(ns.IsFuseMounted(mnt));
            Assert.True(ns.WaitUntilOnlyTheHolderIsLeft(TimeSpan.FromSeconds(5)));
        }
        finally
        {
            Directory.Delete(mnt);
        }
    }
}
