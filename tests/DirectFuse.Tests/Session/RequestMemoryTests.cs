using System.Diagnostics;
using DirectFuse.Examples.MemFs;
using DirectFuse.Protocol;
using DirectFuse.Session;
using DirectFuse.Tests.Infrastructure;
using DirectFuse.Tests.Protocol;
using Xunit.Abstractions;

namespace DirectFuse.Tests.Session;

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class MemoryMeasurementCollection
{
    /// <summary>Tests that measure the whole process (its GC heap, its descriptors) run alone: other tests would blur it.</summary>
    public const string Name = "memory measurements";
}

/// <summary>
/// Issue 10: a request whose handler waits must cost what it carries, not two max_write buffers, and the
/// memory must come back when the waiting ends.
/// </summary>
[Collection(MemoryMeasurementCollection.Name)]
public sealed class RequestMemoryTests(ITestOutputHelper output)
{
    private const int Blocked = 1000;
    private const long MiB = 1 << 20;

    private static byte[] SetLkW(ulong unique) => FakeKernel.BuildRequest(FuseOpcode.SetLkW, unique, 2,
        Bytes.Of(new FuseLkIn { Fh = 1, Owner = unique, Lk = new FuseFileLock { Type = 1, End = ulong.MaxValue } }));

    /// <summary>Live bytes on the GC heap (the pinned heap included) after full collections.</summary>
    private static long LiveHeap()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        return GC.GetTotalMemory(forceFullCollection: true);
    }

    [Fact]
    public void A_thousand_waiting_lock_requests_cost_little_and_the_memory_comes_back()
    {
        var fs = new GateFileSystem();
        // 256 KiB max_write: before issue 10 a waiting request held 2 × 260 KiB pinned (520 MiB in all here).
        using var k = FakeKernel.StartInitialized(fs, workers: 2, new FuseSessionOptions { MaxWrite = 256 * 1024, Threads = 2 });
        long idle = LiveHeap();

        for (int i = 0; i < Blocked; i++) k.SendRaw(SetLkW(k.NextUnique()));
        Assert.True(SpinWait.SpinUntil(() => fs.Waiting == Blocked, Patience.Seconds(20)), $"{fs.Waiting} of {Blocked} handlers waiting");
        long blocked = LiveHeap();

        fs.Open();
        for (int i = 0; i < Blocked; i++) Assert.Equal(0, k.Read().Error);
        Assert.True(SpinWait.SpinUntil(() => k.Core.InFlight == 0, Patience.Seconds(10)));
        long released = LiveHeap();

        output.WriteLine($"idle {idle / 1024} KiB, {Blocked} blocked {blocked / 1024} KiB, released {released / 1024} KiB; {k.Core.Pool.Count} request objects left");
        Assert.True(blocked - idle < 64 * MiB, $"{Blocked} waiting requests added {(blocked - idle) / MiB} MiB");
        Assert.True(released - idle < 4 * MiB, $"after they completed {(released - idle) / MiB} MiB stayed");
        Assert.True(k.Core.Pool.Count <= RequestPool.MaxIdleRequests + 2, $"{k.Core.Pool.Count} request objects kept");
    }

    [Fact]
    public void Waiting_small_writes_do_not_hold_read_buffers()
    {
        const int Writes = 200;
        var fs = new GateFileSystem();
        using var k = FakeKernel.StartInitialized(fs, workers: 2, new FuseSessionOptions { MaxWrite = 256 * 1024, Threads = 2 });
        long idle = LiveHeap();

        // 4 KiB each, as a blocking device sees them: before, each held a 260 KiB read buffer (and a reply buffer).
        var data = new byte[4096];
        for (int i = 0; i < Writes; i++)
            k.Send(FuseOpcode.Write, 2, Bytes.Join(Bytes.Of(new FuseWriteIn { Fh = 1, WriteSize = (uint)data.Length }), data));
        Assert.True(SpinWait.SpinUntil(() => fs.Waiting == Writes, Patience.Seconds(20)), $"{fs.Waiting} of {Writes} writes waiting");
        long blocked = LiveHeap();

        fs.Open();
        for (int i = 0; i < Writes; i++) Assert.Equal((uint)data.Length, k.Read().Read<FuseWriteOut>().WriteSize);
        output.WriteLine($"idle {idle / 1024} KiB, {Writes} waiting writes {blocked / 1024} KiB");
        Assert.True(blocked - idle < 16 * MiB, $"{Writes} waiting 4 KiB writes added {(blocked - idle) / MiB} MiB");
    }

    /// <summary>
    /// Forks <c>argv[2]</c> children that block in F_SETLKW (lockf) on a lock the parent holds, says "ready"
    /// once they are all waiting, and on "kill" SIGKILLs them (the kernel then sends INTERRUPTs) and exits.
    /// </summary>
    private const string LockWaiters = """
        import fcntl, os, signal, sys, time
        path, n = sys.argv[1], int(sys.argv[2])
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        fcntl.lockf(fd, fcntl.LOCK_EX)
        r, w = os.pipe()
        kids = []
        for i in range(n):
            pid = os.fork()
            if pid == 0:
                f = os.open(path, os.O_RDWR)
                os.write(w, b"x")
                fcntl.lockf(f, fcntl.LOCK_EX)
                os._exit(0)
            kids.append(pid)
        got = 0
        while got < n: got += len(os.read(r, n - got))
        # Each child wrote just before its lockf; wait until the kernel has them all waiting in FUSE.
        deadline = time.time() + 20
        while time.time() < deadline:
            waiting = sum(1 for k in kids if open(f"/proc/{k}/wchan").read() not in ("0", ""))
            if waiting == n: break
            time.sleep(0.1)
        time.sleep(1)
        print("ready", waiting, flush=True)
        sys.stdin.readline()
        for k in kids: os.kill(k, signal.SIGKILL)
        for k in kids: os.waitpid(k, 0)
        print("done", flush=True)
        """;

    [Fact]
    public void Processes_blocked_in_F_SETLKW_on_memfs_cost_little_and_the_memory_comes_back_when_they_are_killed()
    {
        const int Processes = 200;
        using var mount = TempMount.Create(new MemFileSystem());
        long idle = LiveHeap();

        var start = new ProcessStartInfo(Run.Python) { RedirectStandardInput = true, RedirectStandardOutput = true };
        foreach (string arg in new[] { "-c", LockWaiters, mount["lock"], Processes.ToString() }) start.ArgumentList.Add(arg);
        using var waiters = Process.Start(start)!;
        try
        {
            string? ready = waiters.StandardOutput.ReadLine();
            Assert.StartsWith("ready", ready);
            long blocked = LiveHeap();

            waiters.StandardInput.WriteLine("kill");
            waiters.StandardInput.Flush();
            Assert.Equal("done", waiters.StandardOutput.ReadLine());
            Assert.True(waiters.WaitForExit(Patience.Milliseconds(10_000)));
            // The interrupted handlers finish on the thread pool; give them a moment.
            long released = LiveHeap();
            for (int i = 0; i < 50 && released - idle >= 4 * MiB; i++)
            {
                Thread.Sleep(100);
                released = LiveHeap();
            }

            output.WriteLine($"{ready}: idle {idle / 1024} KiB, {Processes} blocked {blocked / 1024} KiB, after kill {released / 1024} KiB");
            Assert.True(blocked - idle < 64 * MiB, $"{Processes} processes waiting in F_SETLKW added {(blocked - idle) / MiB} MiB");
            Assert.True(released - idle < 4 * MiB, $"after they were killed {(released - idle) / MiB} MiB stayed");
        }
        finally
        {
            if (!waiters.HasExited)
            {
                waiters.Kill(entireProcessTree: true);
                waiters.WaitForExit(Patience.Milliseconds(10_000));
            }
        }
    }
}
