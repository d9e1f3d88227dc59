using System.Diagnostics;
using DirectFuse.Examples.MemFs;
using DirectFuse.Session;
using DirectFuse.Tests.Infrastructure;

namespace DirectFuse.Tests.Session;

/// <summary>
/// A burst on one CPU that outruns its ring queue's free entries, while waiting handlers hold the entries that
/// would commit: the kernel queues the rest, and a newly registered entry does not take them (docs/kernel-facts.md,
/// io_uring). FuseRingKicker must get every one of them served.
/// </summary>
public sealed class IoUringBurstTests
{
    /// <summary>
    /// Forks argv[2] children (all on the CPU the parent is pinned to) that open argv[1] and block in F_SETLKW on
    /// the lock the parent holds; prints "ready N" with N the children waiting in fuse_setlk after at most 20 s
    /// (children stuck earlier, in OPEN, do not count), then SIGKILLs them all.
    /// </summary>
    private const string Burst = """
        import fcntl, os, signal, sys, time
        path, n = sys.argv[1], int(sys.argv[2])
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        fcntl.lockf(fd, fcntl.LOCK_EX)
        kids = []
        for i in range(n):
            pid = os.fork()
            if pid == 0:
                f = os.open(path, os.O_RDWR)
                fcntl.lockf(f, fcntl.LOCK_EX)
                os._exit(0)
            kids.append(pid)
        def in_setlk(k):
            try: return "fuse_setlk" in open(f"/proc/{k}/stack").read()
            except OSError: return False
        deadline = time.time() + 20
        while True:
            waiting = sum(1 for k in kids if in_setlk(k))
            if waiting == n or time.time() > deadline: break
            time.sleep(0.1)
        print("ready", waiting, flush=True)
        for k in kids: os.kill(k, signal.SIGKILL)
        for k in kids: os.waitpid(k, 0)
        print("done", flush=True)
        """;

    [Fact]
    public void A_burst_of_lock_waiters_on_one_cpu_all_reach_the_server()
    {
        if (!UringParameter.Supported) return;
        using var on = UringParameter.On();
        using var m = TempMount.Create(new MemFileSystem(), new FuseSessionOptions { UseIoUring = true, Threads = 2 });
        Assert.True(m.Session.Transport == FuseTransport.IoUring, m.Session.TransportReason);
        const int Children = 100;
        var psi = new ProcessStartInfo("taskset") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string arg in new[] { "-c", "0", Run.Python, "-c", Burst, m["lock"], Children.ToString() }) psi.ArgumentList.Add(arg);
        using var burst = Process.Start(psi)!;
        try
        {
            var ready = burst.StandardOutput.ReadLineAsync();
            Assert.True(ready.Wait(Patience.Seconds(40)), "the burst script did not report");
            Assert.Equal($"ready {Children}", ready.Result);
            Assert.Equal("done", burst.StandardOutput.ReadLine());
        }
        finally
        {
            // Children stuck in OPEN wait uninterruptibly for a request the server never got: end the connection.
            if (!burst.WaitForExit(Patience.Milliseconds(10_000))) m.Session.ForceUnmount();
            if (!burst.HasExited) burst.Kill(entireProcessTree: true);
        }
    }
}
