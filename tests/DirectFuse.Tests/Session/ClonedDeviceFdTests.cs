using DirectFuse.Session;
using DirectFuse.Tests.Infrastructure;
using DirectFuse.Transport;

namespace DirectFuse.Tests.Session;

/// <summary>
/// Counts the process's /dev/fuse descriptors, so it runs alone: a mount of a test running in parallel would
/// change the count.
/// </summary>
[Collection(MemoryMeasurementCollection.Name)]
public sealed class ClonedDeviceFdTests
{
    [Fact]
    public void Each_worker_thread_reads_its_own_cloned_device_fd()
    {
        static int DeviceFds() => Directory.GetFiles("/proc/self/fd").Count(fd =>
        {
            try { return new FileInfo(fd).LinkTarget == "/dev/fuse"; }
            catch (IOException) { return false; }
        });
        int before = DeviceFds();
        using var mount = TempMount.Create(new ProbeFileSystem(), new FuseSessionOptions { Threads = 4, Mount = new MountOptions { Subtype = "test" } });
        Assert.Equal(before + 4, DeviceFds());
        // Requests from concurrent clients are answered, whichever fd they arrive on.
        var results = Enumerable.Range(0, 8).AsParallel().WithDegreeOfParallelism(4)
            .Select(_ => Run.Process("cat", mount["ok"]).EnsureSuccess("cat").StdOut).ToList();
        Assert.All(results, r => Assert.Equal("probe\n", r));
    }
}
