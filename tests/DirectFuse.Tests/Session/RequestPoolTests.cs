using DirectFuse.Protocol;
using DirectFuse.Session;
using DirectFuse.Tests.Protocol;

namespace DirectFuse.Tests.Session;

public sealed class RequestPoolTests
{
    [Fact]
    public void A_worker_that_stops_after_serving_a_large_request_in_place_returns_its_read_buffer_once()
    {
        var k = FakeKernel.StartInitialized(new TestFileSystem(), workers: 1);
        // 32 KiB: more than is copied, so it is served in place in the worker's read buffer.
        var data = new byte[32 * 1024];
        var reply = k.Call(FuseOpcode.Write, TestFileSystem.HelloNode, Bytes.Join(Bytes.Of(new FuseWriteIn { Fh = TestFileSystem.OpenHandle, WriteSize = (uint)data.Length }), data));
        Assert.Equal(0, reply.Error);
        k.Dispose();
        // Twice would hand the same buffer to two workers.
        Assert.Equal(1, k.Core.Pool.IdleReadBuffers);
    }

    [Fact]
    public void Idle_request_objects_beyond_the_limit_are_dropped_and_interrupts_still_find_the_rest()
    {
        var pool = new RequestPool(8192, 8192);
        var rented = Enumerable.Range(0, RequestPool.MaxIdleRequests + 20).Select(_ => pool.Rent()).ToList();
        Assert.Equal(rented.Count, pool.Count);
        foreach (var request in rented.Skip(1)) pool.Return(request);
        Assert.Equal(RequestPool.MaxIdleRequests + 1, pool.Count);

        // The one still rented serves a request: an interrupt finds it in the registry.
        var active = rented[0];
        Assert.True(active.Load(FakeKernel.BuildRequest(FuseOpcode.Lookup, 40, 1, Bytes.Name("x")), FuseInHeader.Size + 2));
        active.BeginActive();
        Assert.True(pool.TryInterrupt(40));
        Assert.True(active.CancellationToken.IsCancellationRequested);
        Assert.False(pool.TryInterrupt(42));
        active.EndActive();
        pool.Return(active);
    }
}
