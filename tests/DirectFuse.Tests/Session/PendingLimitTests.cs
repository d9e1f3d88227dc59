using DirectFuse.Protocol;
using DirectFuse.Session;
using DirectFuse.Tests.Infrastructure;
using DirectFuse.Tests.Protocol;

namespace DirectFuse.Tests.Session;

/// <summary>FuseSessionOptions.MaxPendingRequests: at the cap the workers stop reading instead of growing.</summary>
public sealed class PendingLimitTests
{
    private static byte[] SetLkW(ulong unique) => FakeKernel.BuildRequest(FuseOpcode.SetLkW, unique, 2,
        Bytes.Of(new FuseLkIn { Fh = 1, Owner = unique, Lk = new FuseFileLock { Type = 1, End = ulong.MaxValue } }));

    [Fact]
    public void At_the_cap_no_more_handlers_wait_and_all_complete_after_release()
    {
        const int Cap = 16, Sent = 64;
        var fs = new GateFileSystem();
        using var k = FakeKernel.StartInitialized(fs, workers: 2, new FuseSessionOptions { MaxWrite = 64 * 1024, Threads = 2, MaxPendingRequests = Cap });
        // From another thread: once the workers stop reading, the socket (like /dev/fuse) queues and the writer blocks.
        var sender = new Thread(() => { for (int i = 0; i < Sent; i++) k.SendRaw(SetLkW(k.NextUnique())); }) { IsBackground = true };
        sender.Start();

        // A worker's slot goes with the handler that waits; once all are taken both workers stop reading.
        Assert.True(SpinWait.SpinUntil(() => fs.Waiting == Cap, Patience.Seconds(10)), $"{fs.Waiting} waiting");
        Thread.Sleep(300);
        Assert.Equal(Cap, fs.Waiting);
        Assert.True(k.Core.Pool.Count <= Cap, $"{k.Core.Pool.Count} request objects for a cap of {Cap}");

        fs.Open();
        var answered = new HashSet<ulong>();
        for (int i = 0; i < Sent; i++)
        {
            var reply = k.Read();
            Assert.Equal(0, reply.Error);
            answered.Add(reply.Unique);
        }
        Assert.Equal(Sent, answered.Count);
        Assert.True(sender.Join(TimeSpan.FromSeconds(5)));
        Assert.True(fs.MaxWaiting <= Cap, $"{fs.MaxWaiting} handlers waited at once");
    }

    [Fact]
    public void A_waiting_request_can_still_be_interrupted_below_the_cap()
    {
        var fs = new GateFileSystem();
        using var k = FakeKernel.StartInitialized(fs, workers: 1, new FuseSessionOptions { MaxWrite = 64 * 1024, Threads = 1, MaxPendingRequests = 5 });
        var targets = new List<ulong>();
        for (int i = 0; i < 3; i++)
        {
            ulong unique = k.NextUnique();
            k.SendRaw(SetLkW(unique));
            targets.Add(unique);
        }
        Assert.True(SpinWait.SpinUntil(() => fs.Waiting == 3, Patience.Seconds(5)));
        foreach (ulong target in targets)
        {
            k.Send(FuseOpcode.Interrupt, 0, new FuseInterruptIn { Unique = target }, unique: target | 1);
            Assert.Equal(-Errno.EINTR.Value, k.ReadReply(target).Error);
        }
        Assert.True(SpinWait.SpinUntil(() => k.Core.InFlight == 0, Patience.Seconds(5)));
        // Every slot is back but the one the worker holds for its next read.
        Assert.Equal(4, k.Core.Pending.Free);
    }

    [Fact]
    public void A_worker_waiting_for_a_slot_stops_when_the_connection_ends()
    {
        var fs = new GateFileSystem();
        var k = FakeKernel.StartInitialized(fs, workers: 1, new FuseSessionOptions { MaxWrite = 64 * 1024, Threads = 1, MaxPendingRequests = 1 });
        k.SendRaw(SetLkW(k.NextUnique()));
        Assert.True(SpinWait.SpinUntil(() => fs.Waiting == 1, Patience.Seconds(5)));
        // The worker's slot went with the waiting handler; it waits for another. Closing the kernel end must stop it.
        var disposed = Task.Run(k.Dispose);
        Assert.True(disposed.Wait(Patience.Seconds(10)), "the worker did not stop");
        Assert.Contains(k.StopReasons, reason => reason is "channel closed" or "end of stream");
    }
}
