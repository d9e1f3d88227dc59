using System.Diagnostics;
using DirectFuse.Examples.Loopback;
using DirectFuse.Examples.MemFs;
using DirectFuse.Session;
using DirectFuse.Tests.Examples;
using DirectFuse.Tests.Infrastructure;

namespace DirectFuse.Tests.Session;

/// <summary>
/// FUSE over io_uring (FuseSessionOptions.UseIoUring) on real mounts: the transport in use, real work through
/// the rings, the fallback to /dev/fuse, and teardown under load and on abort. Each test turns the fuse
/// module's enable_uring on (or off) and restores the value it found.
/// </summary>
public sealed class IoUringTransportTests
{
    private static FuseSessionOptions Options => new() { UseIoUring = true, Threads = 2 };

    private static void AssertServedByRing(FuseSession session)
    {
        Assert.True(session.Transport == FuseTransport.IoUring, session.TransportReason);
        // INIT, FORGETs and INTERRUPTs still come through /dev/fuse; everything else through the rings.
        Assert.True(session.RequestsFromRing > 10 * session.RequestsFromDevice,
            $"{session.RequestsFromRing} requests through the rings, {session.RequestsFromDevice} through /dev/fuse");
    }

    [Fact]
    public void Memfs_over_io_uring_runs_coreutils_python_and_fio()
    {
        if (!UringParameter.Supported) return;
        using var on = UringParameter.On();
        using var m = TempMount.Create(new MemFileSystem(), Options);
        Assert.Equal(FuseTransport.IoUring, m.Session.Transport);
        Assert.Contains("queues", m.Session.TransportReason);
        PosixToolSuite.CoreutilsTree(m.Path);
        PosixToolSuite.PythonOs(m.Path);
        PosixToolSuite.Xattrs(m.Path);
        PosixToolSuite.Fio(m.Path);
        AssertServedByRing(m.Session);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Loopback_over_io_uring_runs_coreutils_python_and_fio(bool passthrough)
    {
        if (!UringParameter.Supported) return;
        using var on = UringParameter.On();
        string source = Directory.CreateTempSubdirectory("df-src-").FullName;
        try
        {
            var fs = new LoopbackFileSystem(source, new LoopbackOptions { UsePassthrough = passthrough });
            using (var m = TempMount.Create(fs, Options))
            {
                Assert.Equal(FuseTransport.IoUring, m.Session.Transport);
                PosixToolSuite.CoreutilsTree(m.Path);
                PosixToolSuite.PythonOs(m.Path);
                PosixToolSuite.DdAndTruncate(m.Path);
                PosixToolSuite.Fio(m.Path);
                // Large sequential I/O: 1 MiB writes and reads travel in the ring entries' payload buffers.
                Run.Process("dd", ["if=/dev/urandom", $"of={m["big"]}", "bs=1M", "count=16", "status=none"]).EnsureSuccess("dd write");
                Assert.Equal(Sha(Path.Combine(source, "big")), Sha(m["big"]));
                AssertServedByRing(m.Session);
            }
        }
        finally
        {
            Directory.Delete(source, recursive: true);
        }
    }

    private static string Sha(string path) => Run.Process("sha256sum", [path]).EnsureSuccess("sha256sum").StdOut.Split(' ')[0];

    [Fact]
    public void Without_the_option_the_session_stays_on_dev_fuse()
    {
        if (TestTransport.IoUring) return; // the suite's io_uring run turns the option on everywhere
        using var m = TempMount.Create(new MemFileSystem(), new FuseSessionOptions { Threads = 2 });
        Assert.Equal(FuseTransport.DevFuse, m.Session.Transport);
        Assert.Contains("not requested", m.Session.TransportReason);
    }

    [Fact]
    public void Unmount_under_load_leaves_no_thread_or_mount_behind()
    {
        if (!UringParameter.Supported) return;
        using var on = UringParameter.On();
        var m = TempMount.Create(new MemFileSystem(), Options);
        Assert.Equal(FuseTransport.IoUring, m.Session.Transport);
        // Clients hammering the mount (stat, create, write, read, unlink) while it goes away.
        const string script = """
            import os, sys
            # Relative to a descriptor of the mount's root: after the unmount the path is a plain directory again.
            d = os.open(sys.argv[1], os.O_RDONLY | os.O_DIRECTORY)
            at = lambda path, flags: os.open(path, flags, 0o644, dir_fd=d)
            i = 0
            try:
                while True:
                    p = f'f{os.getpid()}-{i % 50}'
                    with open(p, 'wb', opener=at) as f: f.write(b'x' * 65536)
                    os.stat(p, dir_fd=d); open(p, 'rb', opener=at).read(); os.unlink(p, dir_fd=d)
                    i += 1
            except OSError:
                pass
            """;
        var clients = Enumerable.Range(0, 4).Select(_ => StartPython(script, m.Path)).ToList();
        using var killClients = KillOnExit(clients);
        Thread.Sleep(1500);
        Assert.True(m.Session.RequestsFromRing > 100, $"{m.Session.RequestsFromRing} requests through the rings");
        var sw = Stopwatch.StartNew();
        m.Dispose();
        Assert.True(m.Session.Completion.Wait(Patience.Seconds(15)), "the session did not end");
        Assert.True(sw.Elapsed < Patience.Seconds(15), $"Dispose took {sw.Elapsed}");
        foreach (var c in clients) Assert.True(c.WaitForExit(Patience.Milliseconds(15000)), "a client hung");
        AssertGone(m);
    }

    [Fact]
    public void Dispose_while_clients_wait_in_handlers_aborts_and_cleans_up()
    {
        if (!UringParameter.Supported) return;
        using var on = UringParameter.On();
        var fs = new ProbeFileSystem();
        var m = TempMount.Create(fs, Options);
        Assert.Equal(FuseTransport.IoUring, m.Session.Transport);
        // More readers than a queue has entries: every "slow" read keeps its ring entry until interrupted, so
        // the queues must register more for the rest to be served.
        var clients = Enumerable.Range(0, 12).Select(_ => StartProcess("cat", m["slow"])).ToList();
        using var killClients = KillOnExit(clients);
        Assert.True(SpinWait.SpinUntil(() => fs.SlowReadStarted.Task.IsCompleted, Patience.Seconds(10)));
        Thread.Sleep(1000);
        // Everything else still works meanwhile.
        Assert.Equal("probe\n", File.ReadAllText(m["ok"]));
        var sw = Stopwatch.StartNew();
        m.Dispose();
        Assert.True(m.Session.Completion.Wait(Patience.Seconds(20)), "the session did not end");
        Assert.True(sw.Elapsed < Patience.Seconds(20), $"Dispose took {sw.Elapsed}");
        foreach (var c in clients)
        {
            if (!c.WaitForExit(Patience.Milliseconds(15000))) c.Kill();
            Assert.True(c.HasExited, "a client hung");
        }
        AssertGone(m);
    }

    [Fact]
    public void The_cli_serves_over_io_uring_with_o_io_uring()
    {
        if (!UringParameter.Supported) return;
        using var on = UringParameter.On();
        string mnt = Directory.CreateTempSubdirectory("df-cli-uring-").FullName;
        using var server = CliProcess.Start(mnt, "mount", "memfs", mnt, "-o", "io_uring");
        server.WaitForMounted();
        File.WriteAllText(Path.Combine(mnt, "a"), "hello");
        Assert.Equal("hello", File.ReadAllText(Path.Combine(mnt, "a")));
        Assert.True(SpinWait.SpinUntil(() => server.StdOut.Contains("requests over io_uring"), Patience.Seconds(5)), server.StdOut + server.StdErr);
    }

    private static void AssertGone(TempMount m)
    {
        Assert.DoesNotContain(File.ReadAllLines("/proc/self/mounts"), line => line.Split(' ')[1] == m.Path);
        Assert.True(m.Session.Completion.IsCompleted);
    }

    /// <summary>Kills the clients still running when the test ends, failed or not.</summary>
    private static IDisposable KillOnExit(List<Process> clients) => new Cleanup(() =>
    {
        foreach (var c in clients)
            if (!c.HasExited) c.Kill(entireProcessTree: true);
    });

    private sealed class Cleanup(Action action) : IDisposable
    {
        public void Dispose() => action();
    }

    private static Process StartPython(string script, params string[] args) =>
        StartProcess(Run.Python, ["-c", script, .. args]);

    private static Process StartProcess(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        return Process.Start(psi)!;
    }
}
