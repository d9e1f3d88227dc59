using DirectFuse.Tests.Infrastructure;

namespace DirectFuse.Tests.Cli;

/// <summary>
/// <c>directfuse SOURCE MOUNTPOINT [-o OPTIONS]</c>, the form mount.fuse3 runs: by default it returns once the
/// mount is live and leaves a daemon; -f keeps it in the foreground.
/// </summary>
public sealed class MountHelperTests
{
    private const int SIGTERM = 15;

    [Fact]
    public void Returns_once_the_mount_is_live_and_the_daemon_ends_at_umount()
    {
        using var mnt = new DaemonMountPoint();
        var result = CliProcess.RunToEnd("memfs", mnt.Path, "-o", "nofail,_netdev,x-systemd.automount,noatime");
        Assert.True(result.ExitCode == 0, $"exit {result.ExitCode}: {result.StdErr}");
        // Nothing on standard output or error: the daemon holds neither (else RunToEnd would have waited for it).
        Assert.Equal("", result.StdOut);
        Assert.Equal("", result.StdErr);
        // Live at once: no waiting for the daemon.
        File.WriteAllText(mnt["f"], "at once");
        Assert.Equal("at once", File.ReadAllText(mnt["f"]));
        string line = File.ReadAllLines("/proc/mounts").Single(l => l.Split(' ')[1] == mnt.Path);
        Assert.StartsWith($"memfs {mnt.Path} fuse.directfuse rw,nosuid,nodev,noatime,", line);

        var daemon = Assert.Single(DaemonProcesses.WithArgument(mnt.Path));
        string status = File.ReadAllText($"/proc/{daemon}/stat");
        // Its own session (setsid), so a terminal's hang-up or Ctrl-C does not reach it.
        var fields = status[(status.LastIndexOf(')') + 2)..].Split(' ');
        Assert.Equal(daemon.ToString(), fields[3]);
        Assert.Equal("/", new FileInfo($"/proc/{daemon}/cwd").LinkTarget);
        foreach (int fd in new[] { 0, 1, 2 })
            Assert.Equal("/dev/null", new FileInfo($"/proc/{daemon}/fd/{fd}").LinkTarget);

        Run.Process("umount", mnt.Path).EnsureSuccess("umount");
        Assert.True(DaemonProcesses.WaitUntilGone(mnt.Path, TimeSpan.FromSeconds(10)), "the daemon outlived its mount");
    }

    [Fact]
    public void Foreground_with_f_serves_until_a_signal()
    {
        using var mnt = new DaemonMountPoint();
        using var server = CliProcess.Start(null, "memfs", mnt.Path, "-f", "-o", "max_threads=3");
        server.WaitForMounted();
        Assert.Contains("3 threads", server.StdOut);
        Assert.False(server.HasExited);
        Assert.Contains($"memfs {mnt.Path} fuse.directfuse ", File.ReadAllText("/proc/mounts"));
        server.Signal(SIGTERM);
        server.AssertExits(TimeSpan.FromSeconds(20), "SIGTERM");
        Assert.Equal(0, server.ExitCode);
        Assert.False(Mounts.IsFuseMounted(mnt.Path));
    }

    [Fact]
    public void Debug_and_single_thread_serve_in_the_foreground()
    {
        using var mnt = new DaemonMountPoint();
        using var server = CliProcess.Start(null, "memfs", mnt.Path, "-d", "-s");
        server.WaitForMounted();
        Assert.Contains("1 threads", server.StdOut);
        Run.Process("stat", Path.Combine(mnt.Path, "nothing-here"));
        server.Signal(SIGTERM);
        server.AssertExits(TimeSpan.FromSeconds(20), "SIGTERM");
        Assert.Matches(@"LOOKUP nodeid=1 uid=0 pid=\d+ -> -ENOENT", server.StdOut);
    }

    [Theory]
    [InlineData("memfs", "/nonexistent/df-mnt", "", "mount point '/nonexistent/df-mnt' does not exist")]
    [InlineData("memfs", null, "bogus", "unknown or malformed mount option 'bogus' (memfs has no options of its own; directfuse --help lists the generic ones)")]
    [InlineData("fmmap", null, "sise=1M", "unknown or malformed mount option 'sise=1M' (fmmap's own: size, quota, policy, mmap_mode, sync_interval; directfuse --help lists the generic ones)")]
    [InlineData("nofs", null, "", "unknown source 'nofs': expected memfs, loopback:DIRECTORY, fmmap, shmfs, ossdsp")]
    [InlineData("loopback", null, "", "source 'loopback' needs its argument: loopback:DIRECTORY (The directory to mirror)")]
    [InlineData("loopback:/nonexistent/src", null, "", "source directory '/nonexistent/src' does not exist")]
    [InlineData("memfs:extra", null, "", "source 'memfs' takes no argument (got 'memfs:extra')")]
    [InlineData("fmmap", null, "policy=everyone", "-o policy: Argument 'everyone' not recognized. Must be one of: 'uid' 'pid' 'shared' (directfuse --help lists the options)")]
    [InlineData("fmmap", null, "size=2G,quota=1G", "--size 2G is larger than --quota 1G: every open would fail with EDQUOT")]
    [InlineData("memfs", null, "uid=1000", "mount option 'uid' is not supported: libfuse high-level (path) API option that rewrites owners and modes: the file systems here keep real owners and modes and check them (use chown/chmod, or allow_other with default_permissions)")]
    [InlineData("memfs", null, "blksize=4096", "mount option 'blksize' is not supported: only valid for fuseblk mounts (block-device file systems); directfuse mounts type fuse")]
    [InlineData("memfs", null, "allow_other,allow_root", "mount options 'allow_other' and 'allow_root' are mutually exclusive")]
    [InlineData("memfs", null, "max_threads=0", "mount option 'max_threads' must be between 1 and 256 (got '0')")]
    [InlineData("memfs", null, "ro=yes", "mount option 'ro' takes no value (got 'ro=yes')")]
    [InlineData("shmfs", null, "quota", "mount option 'quota' needs a value (quota=...)")]
    [InlineData("loopback:/tmp", null, "no_passthrough=1", "mount option 'no_passthrough' takes no value (got 'no_passthrough=1')")]
    public void A_failed_mount_is_reported_by_the_command_itself(string source, string? mountPoint, string options, string expected)
    {
        using var mnt = new DaemonMountPoint();
        string[] args = options.Length > 0 ? [source, mountPoint ?? mnt.Path, "-o", options] : [source, mountPoint ?? mnt.Path];
        var result = CliProcess.RunToEnd(args);
        Assert.Equal(1, result.ExitCode);
        Assert.Equal($"directfuse: {expected}", result.StdErr.Trim());
        Assert.Equal("", result.StdOut);
        Assert.False(Mounts.IsFuseMounted(mnt.Path));
        Assert.Empty(DaemonProcesses.WithArgument(mnt.Path));
    }

    [Fact]
    public void A_mount_that_the_kernel_refuses_is_reported_with_a_non_zero_exit()
    {
        using var mnt = new DaemonMountPoint();
        // Without SELinux the kernel refuses context=; the daemon's error reaches the command.
        var result = CliProcess.RunToEnd("memfs", mnt.Path, "-o", "context=system_u:object_r:tmp_t:s0");
        if (result.ExitCode == 0) return; // a kernel with SELinux took it: nothing to refuse here
        Assert.Equal(1, result.ExitCode);
        Assert.Equal($"directfuse: mount(2) of '{mnt.Path}' failed: EINVAL (22) (context=, fscontext=, defcontext= and rootcontext= need SELinux in the kernel)", result.StdErr.Trim());
        Assert.Empty(DaemonProcesses.WithArgument(mnt.Path));
    }

    [Fact]
    public void A_daemon_that_never_gets_ready_is_stopped_and_reported()
    {
        // The mount point lies on a mount whose server is stopped: checking it hangs the daemon, as a stuck
        // file system underneath would. The command must neither wait for ever nor leave the daemon behind.
        using var outer = new DaemonMountPoint();
        // Over /dev/fuse (the mount(8) form with -f): a request to a stopped server there can always be killed.
        using var stuck = CliProcess.Start(null, "memfs", outer.Path, "-f");
        stuck.WaitForMounted();
        Directory.CreateDirectory(outer["sub"]);
        string mountPoint = outer["sub"];
        stuck.Signal(19); // SIGSTOP
        try
        {
            Thread.Sleep(Patience.Milliseconds(1500)); // past memfs's attribute timeout: the kernel must ask the server
            var started = DateTime.UtcNow;
            var result = CliProcess.RunToEnd(new Dictionary<string, string?> { ["DIRECTFUSE_READY_TIMEOUT"] = "3" }, "memfs", mountPoint);
            var took = DateTime.UtcNow - started;
            Assert.Equal(1, result.ExitCode);
            Assert.StartsWith($"directfuse: the daemon did not report memfs on {mountPoint} ready within 3 s; stopping it", result.StdErr.Trim());
            Assert.True(took < Patience.Seconds(30), $"the command took {took.TotalSeconds:0} s");
            Assert.Empty(DaemonProcesses.WithArgument(mountPoint));
        }
        finally
        {
            stuck.Signal(18); // SIGCONT
            DaemonProcesses.Kill(mountPoint);
        }
    }

    [Fact]
    public void Kind_specific_options_reach_the_file_system()
    {
        using var fmmap = new DaemonMountPoint();
        // A later size= replaces an earlier one, as with every -o option.
        CliProcess.RunToEnd("fmmap", fmmap.Path, "-o", "size=2M,quota=4M,policy=shared", "-o", "mmap_mode=page-cache,sync_interval=0,size=1M").EnsureSuccess("fmmap");
        Assert.Equal(1L << 20, new FileInfo(fmmap["buffer"]).Length);
        Run.Process("umount", fmmap.Path).EnsureSuccess("umount fmmap");

        using var shmfs = new DaemonMountPoint();
        CliProcess.RunToEnd("shmfs", shmfs.Path, "-o", "quota=8M,max_file=2M").EnsureSuccess("shmfs");
        var df = Run.Process("df", "-B1", "--output=size", shmfs.Path).EnsureSuccess("df");
        Assert.Equal((8L << 20).ToString(), df.StdOut.Split('\n')[1].Trim());
        var tooBig = Run.Shell($"head -c 3145728 /dev/zero > '{shmfs["big"]}'");
        Assert.Contains("File too large", tooBig.StdErr);
        Run.Process("umount", shmfs.Path).EnsureSuccess("umount shmfs");
        Assert.True(DaemonProcesses.WaitUntilGone(shmfs.Path, TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public void Loopback_source_names_the_directory_and_is_the_fsname()
    {
        string source = Directory.CreateTempSubdirectory("df-src-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(source, "present"), "from the source");
            using var mnt = new DaemonMountPoint();
            CliProcess.RunToEnd($"loopback:{source}", mnt.Path, "-o", "no_passthrough,no_xattr").EnsureSuccess("loopback");
            Assert.Equal("from the source", File.ReadAllText(mnt["present"]));
            var df = Run.Process("df", "--output=source", mnt.Path).EnsureSuccess("df");
            Assert.Equal($"loopback:{source}", df.StdOut.Split('\n')[1].Trim());
            Run.Process("umount", mnt.Path).EnsureSuccess("umount");
            Assert.True(DaemonProcesses.WaitUntilGone(mnt.Path, TimeSpan.FromSeconds(10)));
        }
        finally
        {
            Directory.Delete(source, recursive: true);
        }
    }

    [Fact]
    public void Allow_root_through_the_command_keeps_other_users_out()
    {
        using var mnt = new DaemonMountPoint();
        CliProcess.RunToEnd("memfs", mnt.Path, "-o", "allow_root").EnsureSuccess("memfs -o allow_root");
        Assert.Contains("allow_other", File.ReadAllLines("/proc/mounts").Single(l => l.Split(' ')[1] == mnt.Path));
        Run.Process("chmod", "0777", mnt.Path).EnsureSuccess("chmod");
        var nobody = Run.AsNobody("ls", mnt.Path);
        Assert.NotEqual(0, nobody.ExitCode);
        Assert.Contains("Permission denied", nobody.StdErr);
        Run.Process("ls", mnt.Path).EnsureSuccess("ls as root");
    }

    [Fact]
    public void Ignored_options_say_so_and_fstab_options_say_nothing()
    {
        using var mnt = new DaemonMountPoint();
        var result = CliProcess.RunToEnd("memfs", mnt.Path, "-o", "kernel_cache,nofail,defaults,comment=x,x-systemd.device-timeout=5,user,clone_fd");
        Assert.Equal(0, result.ExitCode);
        Assert.Equal("directfuse: -o kernel_cache ignored: libfuse high-level (path) API option: each file system here decides page caching per open", result.StdErr.Trim());
    }

    [Fact]
    public void Ossdsp_raw_needs_the_foreground()
    {
        using var dir = new DaemonMountPoint();
        string device = dir["dsp"];
        var result = CliProcess.RunToEnd("ossdsp", device, "-o", $"wav={dir["out.wav"]},raw");
        Assert.Equal(1, result.ExitCode);
        Assert.Equal("directfuse: raw writes the samples to standard output, which a daemon does not have: add -f to serve in the foreground", result.StdErr.Trim());
        Assert.Empty(DaemonProcesses.WithArgument(device));
        File.Delete(device);
    }

    [Fact]
    public void Version_and_help()
    {
        foreach (var flag in new[] { "--version", "-V" })
        {
            var version = CliProcess.RunToEnd(flag).EnsureSuccess(flag);
            Assert.Matches(@"^directfuse \d+\.\d+\.\d+\S* \(FUSE kernel protocol 7\.\d+; accepts kernels from 7\.12; no libfuse\)$", version.StdOut.Trim());
        }
        var help = CliProcess.RunToEnd("--help").EnsureSuccess("--help").StdOut;
        Assert.Contains("loopback:DIRECTORY", help);
        Assert.Contains("size=VALUE", help);
        // Every generic option is listed with what happens to it.
        Assert.Contains("Generic -o options, accepted and ignored (why):", help);
        foreach (var name in new[] { "allow_root", "max_idle_threads=N", "blksize=N", "x-*", "nofail", "clone_fd", "kernel_cache", "umask=M" })
            Assert.Contains("  " + name + " ", help);
    }
}
