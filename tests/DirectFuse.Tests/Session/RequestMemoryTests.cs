using DirectFuse.Protocol;
using DirectFuse.Session;
using DirectFuse.Tests.Protocol;
using Xunit.Abstractions;

namespace DirectFuse.Tests.Session;

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class MemoryMeasurementCollection
{
    /// <summary>Tests that measure the process's GC heap run alone: other tests' allocations would blur it.</summary>
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
        Assert.True(SpinWait.SpinUntil(() => fs.Waiting == Blocked, TimeSpan.FromSeconds(20)), $"{fs.Waiting} of {Blocked} handlers waiting");
        long blocked = LiveHeap();

        fs.Open();
        for (int i = 0; i < Blocked; i++) Assert.Equal(0, k.Read().Error);
        Assert.True(SpinWait.SpinUntil(() => k.Core.InFlight == 0, TimeSpan.FromSeconds(10)));
        long released = LiveHeap();

        output.WriteLine($"idle {idle / 1024} KiB, {Blocked} blocked {blocked / 1024} KiB, released {released / 1024} KiB; {k.Core.Pool.Count} request objects left");
        Assert.True(blocked - idle < 64 * MiB, $"{Blocked} waiting requests added {(blocked - idle) / MiB} MiB");
        Assert.True(released - idle < 4 * MiB, $"after they completed {(released - idle) / MiB} MiB stayed");
        Assert.True(k.Core.Pool.Count <= RequestPool.MaxIdleRequests + 2, $"{k.Core.Pool.Count} request objects kept");
    }
}
