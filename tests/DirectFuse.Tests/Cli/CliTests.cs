using DirectFuse.Tests.Infrastructure;

namespace DirectFuse.Tests.Cli;

/// <summary>The <c>directfuse</c> command as a user runs it: a separate server process, real clients.</summary>
public sealed class CliTests
{
    private const int SIGHUP = 1, SIGINT = 2, SIGQUIT = 3, SIGKILL = 9, SIGTERM = 15;

    private static string NewMountPoint() => Directory.CreateTempSubdirectory("df-cli-").FullName;

    [Theory]
    [InlineData(SIGHUP)]
    [InlineData(SIGINT)]
    [InlineData(SIGQUIT)]
    [InlineData(SIGTERM)]
    public void Signal_unmounts_and_exits_cleanly(int signal)
    {
        string mnt = NewMountPoint();
        using var server = CliProcess.Start(mnt, "mount", "memfs", mnt);
        server.WaitForMounted();
        Run.Shell($"echo hi > '{mnt}/f' && cat '{mnt}/f'").EnsureSuccess("write through the CLI mount");
        server.Signal(signal);
        server.AssertExits(TimeSpan.FromSeconds(20), $"signal {signal}");
        Assert.Equal(0, server.ExitCode);
        Assert.False(Mounts.IsFuseMounted(mnt), "the mount outlived the server");
    }

    [Fact]
    public void Unmount_command_ends_the_server()
    {
        string mnt = NewMountPoint();
        using var server = CliProcess.Start(mnt, "mount", "memfs", mnt);
        server.WaitForMounted();
        CliProcess.RunToEnd("unmount", mnt).EnsureSuccess("directfuse unmount");
        server.AssertExits(TimeSpan.FromSeconds(20), "directfuse unmount");
        Assert.Equal(0, server.ExitCode);
        Assert.Contains("unmounted", server.StdOut);
    }

    [Fact]
    public void Killed_server_never_hangs_clients_and_the_mount_can_be_removed()
    {
        string mnt = NewMountPoint();
        using var server = CliProcess.Start(mnt, "mount", "memfs", mnt);
        server.WaitForMounted();
        server.Signal(SIGKILL);
        Assert.True(server.WaitForExit(TimeSpan.FromSeconds(10)));
        // The kernel aborts the connection when the device fd closes: clients fail fast instead of hanging.
        var stat = Run.Process("stat", [mnt], TimeSpan.FromSeconds(10));
        Assert.NotEqual(0, stat.ExitCode);
        // Over io_uring the kernel frees the rings, and with them the device, from a worker a few ms after the
        // exit: a request in that window is ended by the abort (ECONNABORTED) instead of refused (ENOTCONN).
        // Either way it fails at once, and every later one is refused.
        Assert.Matches("Transport endpoint is not connected|Software caused connection abort", stat.StdErr);
        var later = Run.Process("stat", [Path.Combine(mnt, "later")], TimeSpan.FromSeconds(10));
        Assert.Contains("Transport endpoint is not connected", later.StdErr);
        CliProcess.RunToEnd("unmount", mnt).EnsureSuccess("directfuse unmount of a dead mount");
        Assert.False(Mounts.IsFuseMounted(mnt));
    }

    [Fact]
    public void Auto_unmount_removes_the_mount_when_the_server_is_killed()
    {
        string mnt = NewMountPoint();
        using var server = CliProcess.Start(mnt, "mount", "memfs", mnt, "-o", "auto_unmount");
        server.WaitForMounted();
        Assert.True(Mounts.IsFuseMounted(mnt));
        server.Signal(SIGKILL);
        Assert.True(Mounts.WaitUntilUnmounted(mnt, Patience.Seconds(10)), "fusermount3 did not unmount after the server died");
    }

    [Fact]
    public void Debug_prints_one_line_per_request()
    {
        string mnt = NewMountPoint();
        using var server = CliProcess.Start(mnt, "mount", "memfs", mnt, "--debug", "--threads", "3");
        server.WaitForMounted();
        Assert.Contains("3 threads", server.StdOut);
        Run.Process("stat", Path.Combine(mnt, "nothing-here"));
        server.Signal(SIGTERM);
        server.AssertExits(TimeSpan.FromSeconds(20), "SIGTERM");
        string log = server.StdOut + server.StdErr;
        Assert.Matches(@"LOOKUP nodeid=1 uid=0 pid=\d+ -> -ENOENT", log);
        Assert.Contains("INIT", log);
    }

    [Fact]
    public void Missing_mount_point_is_a_one_line_error()
    {
        var result = CliProcess.RunToEnd("mount", "memfs", "/nonexistent/df-mnt");
        Assert.Equal(1, result.ExitCode);
        Assert.Equal("directfuse: mount point '/nonexistent/df-mnt' does not exist", result.StdErr.Trim());
    }

    [Fact]
    public void Busy_mount_point_is_a_one_line_error()
    {
        string mnt = NewMountPoint();
        using var server = CliProcess.Start(mnt, "mount", "memfs", mnt);
        server.WaitForMounted();
        var second = CliProcess.RunToEnd("mount", "memfs", mnt);
        Assert.Equal(1, second.ExitCode);
        Assert.Contains("is busy", second.StdErr);
        Assert.Single(second.StdErr.Trim().Split('\n'));
    }

    [Fact]
    public void Unknown_mount_option_is_a_one_line_error()
    {
        string mnt = NewMountPoint();
        var result = CliProcess.RunToEnd("mount", "memfs", mnt, "-o", "allow_other,bogus=1");
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("unknown or malformed mount option 'bogus=1'", result.StdErr);
        Directory.Delete(mnt);
    }

    [Fact]
    public void The_mount_command_takes_fstab_options_and_max_threads_too()
    {
        string mnt = NewMountPoint();
        using var server = CliProcess.Start(mnt, "mount", "memfs", mnt, "-o", "nofail,_netdev,x-systemd.automount,defaults,max_threads=3,debug,sync,nodiratime");
        server.WaitForMounted();
        Assert.Contains("3 threads", server.StdOut);
        string line = File.ReadAllLines("/proc/mounts").Single(l => l.Split(' ')[1] == mnt);
        Assert.Contains(",nodiratime,", line);
        Assert.Contains("sync", line.Split(' ')[3].Split(','));
        Run.Process("stat", Path.Combine(mnt, "nothing-here"));
        server.Signal(SIGTERM);
        server.AssertExits(TimeSpan.FromSeconds(20), "SIGTERM");
        Assert.Matches(@"LOOKUP nodeid=1 uid=0 pid=\d+ -> -ENOENT", server.StdOut);
        Assert.True(server.StdErr.Length == 0, "stderr: " + server.StdErr);
    }

    /// <summary>Each bad input: exit 1, exactly one "directfuse: ..." line, and nothing mounted on the mount point.</summary>
    private static void AssertRefused(string expected, string mountPoint, params string[] args)
    {
        var result = CliProcess.RunToEnd(args);
        Assert.Equal(1, result.ExitCode);
        Assert.Equal($"directfuse: {expected}", result.StdErr.Trim());
        Assert.Equal("", result.StdOut);
        // Other tests mount in parallel, so only this mount point is checked, for any file system type.
        Assert.DoesNotContain(File.ReadAllLines("/proc/mounts"), l => l.Split(' ')[1] == mountPoint);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("257")]
    [InlineData("100000")]
    public void Threads_out_of_range_are_refused_before_mounting(string threads)
    {
        string mnt = NewMountPoint();
        AssertRefused($"--threads must be between 1 and 256 (got {threads})", mnt, "mount", "memfs", mnt, "--threads", threads);
        Directory.Delete(mnt);
    }

    [Theory]
    [InlineData("memfs")]
    [InlineData("fmmap")]
    [InlineData("shmfs")]
    [InlineData("loopback")]
    public void A_regular_file_as_mount_point_is_refused(string kind)
    {
        string file = Path.GetTempFileName();
        string[] args = kind == "loopback" ? ["mount", kind, Path.GetTempPath(), file] : ["mount", kind, file];
        AssertRefused($"mount point '{file}' is not a directory", file, args);
        File.Delete(file);
    }

    [Theory]
    [InlineData("memfs")]
    [InlineData("fmmap")]
    [InlineData("shmfs")]
    [InlineData("loopback")]
    public void A_missing_mount_point_is_refused(string kind)
    {
        const string missing = "/nonexistent/df-mnt";
        string[] args = kind == "loopback" ? ["mount", kind, Path.GetTempPath(), missing] : ["mount", kind, missing];
        AssertRefused($"mount point '{missing}' does not exist", missing, args);
    }

    [Fact]
    public void Ossdsp_refuses_a_directory_a_device_node_and_a_missing_directory()
    {
        string dir = NewMountPoint();
        string wav = Path.Combine(dir, "out.wav");
        AssertRefused($"'{dir}' is a directory; the device needs a file path", dir, "mount", "ossdsp", dir, "--wav", wav);
        AssertRefused("'/dev/null' is not a regular file; the device needs a file path", "/dev/null", "mount", "ossdsp", "/dev/null", "--wav", wav);
        AssertRefused("device path '/nonexistent/dsp': directory '/nonexistent' does not exist", "/nonexistent/dsp", "mount", "ossdsp", "/nonexistent/dsp", "--wav", wav);
        AssertRefused("--threads must be between 1 and 256 (got 0)", Path.Combine(dir, "dsp"), "mount", "ossdsp", Path.Combine(dir, "dsp"), "--wav", wav, "--threads", "0");
        Assert.Empty(Directory.EnumerateFileSystemEntries(dir)); // neither the device file nor the WAV was created
        Directory.Delete(dir);
    }

    [Theory]
    [InlineData("directfuse: --size 2G is larger than --quota 1G: every open would fail with EDQUOT", "fmmap", "--size", "2G", "--quota", "1G")]
    [InlineData("directfuse: --size: '0' is not a size (like 4096, 64K, 16M, 1G)", "fmmap", "--size", "0")]
    [InlineData("directfuse: --quota: '-1M' is not a size (like 4096, 64K, 16M, 1G)", "fmmap", "--quota", "-1M")]
    [InlineData("directfuse: --sync-interval must be 0 (never) or a number of milliseconds (got -5)", "fmmap", "--sync-interval", "-5")]
    [InlineData("directfuse: --max-file 2G is larger than --quota 1G: no file could ever grow that large", "shmfs", "--max-file", "2G", "--quota", "1G")]
    [InlineData("directfuse: --max-file: '0K' is not a size (like 4096, 64K, 16M, 1G)", "shmfs", "--max-file", "0K")]
    public void Nonsensical_sizes_are_refused_before_mounting(string expected, string kind, params string[] options)
    {
        string mnt = NewMountPoint();
        AssertRefused(expected["directfuse: ".Length..], mnt, ["mount", kind, mnt, .. options]);
        Directory.Delete(mnt);
    }

    [Fact]
    public void Unmounting_something_that_is_not_a_FUSE_mount_fails_clearly()
    {
        var result = CliProcess.RunToEnd("unmount", Path.GetTempPath());
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("is not a FUSE mount point", result.StdErr);
    }

    [Fact]
    public void Allow_other_lets_another_user_in_and_gives_them_their_own_files()
    {
        string mnt = NewMountPoint();
        using var server = CliProcess.Start(mnt, "mount", "memfs", mnt, "-o", "allow_other");
        server.WaitForMounted();
        Run.Process("chmod", "1777", mnt).EnsureSuccess("chmod");
        const string script = "import os,sys; p=os.path.join(sys.argv[1],'mine'); open(p,'w').write('x'); st=os.stat(p); print(st.st_uid, st.st_gid)";
        var result = Run.AsNobody(Run.Python, "-c", script, mnt).EnsureSuccess("python3 as nobody");
        Assert.Equal("65534 65534", result.StdOut.Trim());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Loopback_with_allow_other_keeps_other_users_to_the_source_modes_unless_told_otherwise(bool optOut)
    {
        string mnt = NewMountPoint();
        string source = Directory.CreateTempSubdirectory("df-src-").FullName;
        try
        {
            Run.Process("chmod", "0755", source).EnsureSuccess("chmod source");
            File.WriteAllText(Path.Combine(source, "roots"), "root's");
            Run.Process("chmod", "0644", Path.Combine(source, "roots")).EnsureSuccess("chmod file");
            string[] args = ["mount", "loopback", source, mnt, "-o", "allow_other", .. (optOut ? new[] { "--no-default-permissions" } : [])];
            using var server = CliProcess.Start(mnt, args);
            server.WaitForMounted();
            // The server acts as root on the source: only default_permissions keeps nobody to what the modes allow.
            var chmod = Run.AsNobody("chmod", "0666", Path.Combine(mnt, "roots"));
            var unlink = Run.AsNobody("rm", "-f", Path.Combine(mnt, "roots"));
            if (optOut)
            {
                Assert.Equal(0, chmod.ExitCode);
                Assert.DoesNotContain("adding default_permissions", server.StdErr);
            }
            else
            {
                Assert.Contains("Operation not permitted", chmod.StdErr);
                Assert.Contains("Permission denied", unlink.StdErr);
                Assert.True(File.Exists(Path.Combine(source, "roots")));
                Assert.Equal("-rw-r--r--", Run.Process("stat", "-c", "%A", Path.Combine(source, "roots")).StdOut.Trim());
                Assert.Contains("adding default_permissions", server.StdErr);
                Assert.Contains("default_permissions", File.ReadAllText("/proc/mounts").Split('\n').Single(l => l.Contains($" {mnt} ")));
            }
        }
        finally
        {
            Directory.Delete(source, recursive: true);
        }
    }

    [Fact]
    public void Without_allow_other_another_user_is_kept_out()
    {
        string mnt = NewMountPoint();
        using var server = CliProcess.Start(mnt, "mount", "memfs", mnt);
        server.WaitForMounted();
        var result = Run.AsNobody("ls", mnt);
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("Permission denied", result.StdErr);
    }

    [Fact]
    public void A_non_root_user_mounts_through_fusermount3()
    {
        string mnt = NewMountPoint();
        Run.Process("chown", "65534:65534", mnt).EnsureSuccess("chown");
        // The unprivileged server: the same command, run as nobody.
        var psi = new System.Diagnostics.ProcessStartInfo("setpriv") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in (string[])["--reuid=65534", "--regid=65534", "--clear-groups", "env", "HOME=/tmp", "DOTNET_CLI_HOME=/tmp", .. CliProcess.Command, "mount", "memfs", mnt])
            psi.ArgumentList.Add(a);
        using var server = System.Diagnostics.Process.Start(psi)!;
        try
        {
            string line = server.StandardOutput.ReadLine() ?? server.StandardError.ReadToEnd();
            Assert.Contains("mounted on", line);
            Assert.Contains($"fuse.memfs rw,nosuid,nodev,relatime,user_id=65534,group_id=65534", File.ReadAllText("/proc/mounts"));
            var write = Run.AsNobody("/bin/sh", "-c", $"echo data > '{mnt}/f' && cat '{mnt}/f'").EnsureSuccess("write as nobody");
            Assert.Equal("data", write.StdOut.Trim());
            Run.AsNobody("fusermount3", "-u", mnt).EnsureSuccess("fusermount3 -u as nobody");
            Assert.True(server.WaitForExit(Patience.Milliseconds(20_000)), "the unprivileged server did not exit after fusermount3 -u");
            Assert.Equal(0, server.ExitCode);
        }
        finally
        {
            if (!server.HasExited) server.Kill();
            Mounts.ForceUnmount(mnt);
            Directory.Delete(mnt);
        }
    }
}
