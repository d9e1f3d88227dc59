using DirectFuse.Tests.Infrastructure;

namespace DirectFuse.Tests.Cli;

/// <summary>
/// <c>directfuse memfs /dev/fd/N</c>: a parent (here python3) opens /dev/fuse, calls mount(2) itself and passes
/// the fd on; the server serves it, in the foreground or as a daemon (which must inherit it across the re-exec).
/// </summary>
public sealed class DeviceFdCliTests
{
    /// <summary>
    /// The parent: mounts, runs the CLI with the fd, and (unless it serves in the foreground) expects it to return
    /// once the mount is live; then uses the mount, unmounts and reports. Always unmounts, also on failure.
    /// </summary>
    private const string Parent = """
        import ctypes, os, subprocess, sys, time
        libc = ctypes.CDLL(None, use_errno=True)
        mnt, foreground, directfuse = sys.argv[1], sys.argv[2] == "1", sys.argv[3:]
        fd = os.open("/dev/fuse", os.O_RDWR)
        if libc.mount(b"parent", mnt.encode(), b"fuse.parent", 6, f"fd={fd},rootmode=40000,user_id=0,group_id=0".encode()) != 0:
            sys.exit("mount(2): " + os.strerror(ctypes.get_errno()))
        cmd = directfuse + ["memfs", f"/dev/fd/{fd}", "-o", "max_threads=2"] + (["-f"] if foreground else [])
        server = None
        try:
            if foreground:
                server = subprocess.Popen(cmd, pass_fds=(fd,), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            else:
                r = subprocess.run(cmd, pass_fds=(fd,), capture_output=True, text=True, timeout=60)
                print("exit", r.returncode, r.stderr.strip())
            os.close(fd)
            # The kernel holds requests until INIT is answered, so this also waits for a foreground server.
            with open(os.path.join(mnt, "f"), "w") as f: f.write("through /dev/fd")
            print("read", open(os.path.join(mnt, "f")).read())
        finally:
            subprocess.run(["umount", "-l", mnt])
        if server is not None:
            print("server exit", server.wait(timeout=20), server.stderr.read().decode().strip())
        """;

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Serves_a_dev_fuse_that_the_parent_mounted(bool foreground)
    {
        using var mnt = new DaemonMountPoint();
        var result = Run.Process(Run.Python, ["-c", Parent, mnt.Path, foreground ? "1" : "0", .. CliProcess.AbsoluteCommand], TimeSpan.FromSeconds(90));
        Assert.True(result.ExitCode == 0, result.StdOut + result.StdErr);
        if (!foreground) Assert.Contains("exit 0 \n", result.StdOut + "\n");
        Assert.Contains("read through /dev/fd", result.StdOut);
        if (foreground) Assert.Contains("server exit 0", result.StdOut);
        Assert.False(Mounts.IsFuseMounted(mnt.Path));
        // Nothing serves /dev/fd/N any more: the daemon ended with the parent's unmount.
        Assert.True(DaemonProcesses.WaitUntilGone(mnt.Path, TimeSpan.FromSeconds(1)));
    }

    [Fact]
    public void A_dev_fd_that_is_not_dev_fuse_is_refused()
    {
        // fd 1 is standard output, a pipe here: certainly no /dev/fuse (memfs used to be mounted on top of it).
        var result = CliProcess.RunToEnd("memfs", "/dev/fd/1", "-f");
        Assert.Equal(1, result.ExitCode);
        Assert.StartsWith("directfuse: /dev/fd/1 is not an open /dev/fuse (it is 'pipe:[", result.StdErr.Trim());
        var notOpen = CliProcess.RunToEnd("memfs", "/dev/fd/4321");
        Assert.Equal(1, notOpen.ExitCode);
        Assert.StartsWith("directfuse: /dev/fd/4321: no such open file descriptor", notOpen.StdErr.Trim());
    }

    [Fact]
    public void A_daemon_cannot_serve_its_standard_descriptors()
    {
        var result = CliProcess.RunToEnd("memfs", "/dev/fd/2");
        Assert.Equal(1, result.ExitCode);
        Assert.Equal("directfuse: /dev/fd/2 is one of the standard descriptors, which the daemon replaces with /dev/null: pass the /dev/fuse fd as 3 or higher, or serve in the foreground with -f", result.StdErr.Trim());
    }
}
