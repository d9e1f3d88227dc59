using DirectFuse.Session;
using DirectFuse.Tests.Infrastructure;
using DirectFuse.Transport;

namespace DirectFuse.Tests.Session;

/// <summary>How a mounted session behaves under interrupts, failing handlers and unmounts, seen by real clients.</summary>
public sealed class SessionBehaviourTests
{
    [Fact]
    public void Plain_file_reads_through_a_real_client()
    {
        using var mount = TempMount.Create(new ProbeFileSystem());
        var result = Run.Process("cat", mount["ok"]).EnsureSuccess("cat");
        Assert.Equal("probe\n", result.StdOut);
        var ls = Run.Process("ls", mount.Path).EnsureSuccess("ls");
        Assert.Equal(["broken", "denied", "ok", "slow"], ls.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries).Order());
    }

    [Fact]
    public void Signal_during_a_request_cancels_the_handler_and_the_client_sees_EINTR()
    {
        var fs = new ProbeFileSystem();
        using var mount = TempMount.Create(fs);
        const string script = """
            import os, signal, sys
            class Alarm(Exception): pass
            def on_alarm(signum, frame): raise Alarm()
            signal.signal(signal.SIGALRM, on_alarm)
            fd = os.open(sys.argv[1], os.O_RDONLY)
            signal.alarm(1)
            try:
                os.read(fd, 100)
                print("read returned")
            except Alarm:
                print("interrupted")
            """;
        var result = Run.PythonScript(script, mount["slow"]).EnsureSuccess("python3");
        Assert.Equal("interrupted", result.StdOut.Trim());
        Assert.Equal(1, Volatile.Read(ref fs.InterruptedReads));
        // The session keeps serving after the interrupt.
        Assert.Equal("probe\n", Run.Process("cat", mount["ok"]).EnsureSuccess("cat").StdOut);
    }

    [Fact]
    public void Client_killed_mid_request_leaves_the_mount_usable()
    {
        var fs = new ProbeFileSystem();
        using var mount = TempMount.Create(fs);
        using var client = System.Diagnostics.Process.Start("cat", mount["slow"]);
        Assert.True(fs.SlowReadStarted.Task.Wait(Patience.Seconds(10)), "the slow read never reached the server");
        client.Kill();
        Assert.True(client.WaitForExit(Patience.Milliseconds(10_000)), "the killed client hung");
        Assert.Equal("probe\n", Run.Process("cat", mount["ok"]).EnsureSuccess("cat").StdOut);
    }

    [Fact]
    public void Handler_that_throws_answers_EIO_and_the_server_keeps_serving()
    {
        using var mount = TempMount.Create(new ProbeFileSystem());
        var broken = Run.Process("stat", mount["broken"]);
        Assert.NotEqual(0, broken.ExitCode);
        Assert.Contains("Input/output error", broken.StdErr);
        var denied = Run.Process("stat", mount["denied"]);
        Assert.Contains("Permission denied", denied.StdErr);
        // An errno the kernel would refuse (leaving stat waiting until the connection is aborted) arrives as EIO.
        var badErrno = Run.Process("stat", mount["bad-errno"]);
        Assert.Contains("Input/output error", badErrno.StdErr);
        var missing = Run.Process("stat", mount["missing"]);
        Assert.Contains("No such file or directory", missing.StdErr);
        Run.Process("stat", mount["ok"]).EnsureSuccess("stat after failures");
    }

    [Theory]
    [InlineData("umount")]
    [InlineData("fusermount3 -u")]
    public void External_unmount_ends_the_session(string command)
    {
        using var mount = TempMount.Create(new ProbeFileSystem());
        Run.Shell($"{command} '{mount.Path}'").EnsureSuccess(command);
        Assert.True(mount.Session.Completion.Wait(Patience.Seconds(10)), "the session did not notice the unmount");
        Assert.Equal("unmounted", mount.Session.Completion.Result);
    }

    [Fact]
    public void Dispose_unmounts_even_while_a_client_holds_a_file_open()
    {
        var fs = new ProbeFileSystem();
        var mount = TempMount.Create(fs);
        using var holder = System.Diagnostics.Process.Start("sleep", ["30"]);
        // A process whose working directory is inside the mount keeps it busy.
        using var busy = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("sleep", "30") { WorkingDirectory = mount.Path })!;
        try
        {
            mount.Dispose();
            Assert.False(Mounts.IsFuseMounted(mount.Path));
            Assert.True(mount.Session.Completion.IsCompleted);
        }
        finally
        {
            busy.Kill();
            holder.Kill();
        }
    }

    [Fact]
    public void Auto_unmount_mounts_through_fusermount3()
    {
        var options = new FuseSessionOptions { Mount = new MountOptions { Subtype = "test", AutoUnmount = true } };
        using var mount = TempMount.Create(new ProbeFileSystem(), options);
        Assert.True(mount.Session.MountedWithFusermount);
        Assert.Equal("probe\n", Run.Process("cat", mount["ok"]).EnsureSuccess("cat").StdOut);
    }

    [Fact]
    public void Mounting_on_a_missing_directory_is_a_clear_error()
    {
        string missing = Path.Combine(Path.GetTempPath(), "df-missing-" + Guid.NewGuid().ToString("N"));
        var e = Assert.Throws<MountException>(() => FuseSession.Mount(new ProbeFileSystem(), missing));
        Assert.Contains("does not exist", e.Message);
    }

    [Fact]
    public void Mounting_on_a_FUSE_mount_point_is_refused_as_busy()
    {
        using var mount = TempMount.Create(new ProbeFileSystem());
        var e = Assert.Throws<MountException>(() => FuseSession.Mount(new ProbeFileSystem(), mount.Path));
        Assert.Contains("busy", e.Message);
    }
}
