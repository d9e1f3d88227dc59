using DirectFuse.LowLevel;
using DirectFuse.Protocol;

namespace DirectFuse.Tests.Protocol;

public sealed class NotifyTests
{
    private static byte[] OutHeader(int length, FuseNotifyCode code) =>
        new ByteWriter().U32((uint)length).I32((int)code).U64(0).ToArray();

    private static void AssertWire(FuseMessage m, FuseNotifyCode code, byte[] body)
    {
        Assert.Equal(0UL, m.Unique);
        Assert.Equal((int)code, m.Error);
        Assert.Equal((uint)(16 + body.Length), m.Header.Len);
        Assert.Equal(body, m.Payload);
    }

    [Fact]
    public void Notifications_before_INIT_are_refused()
    {
        using var k = new FakeKernel(new TestFileSystem());
        Assert.Equal(Errno.ENOSYS, k.Notifier.InvalidateInode(new NodeId(2)));
        k.AssertNoMessage(20);
    }

    [Fact]
    public void Invalidate_inode()
    {
        using var k = FakeKernel.StartInitialized(new TestFileSystem());
        Assert.Equal(Errno.Ok, k.Notifier.InvalidateInode(new NodeId(2), offset: -1, length: 4096));
        var m = k.ReadNotification(FuseNotifyCode.InvalInode);
        AssertWire(m, FuseNotifyCode.InvalInode, new ByteWriter().U64(2).U64(ulong.MaxValue).U64(4096).ToArray());
        Assert.Equal(OutHeader(40, FuseNotifyCode.InvalInode), new ByteWriter().U32(m.Header.Len).I32(m.Error).U64(m.Unique).ToArray());
    }

    [Fact]
    public void Invalidate_entry_appends_the_name_and_its_zero()
    {
        using var k = FakeKernel.StartInitialized(new TestFileSystem());
        Assert.Equal(Errno.Ok, k.Notifier.InvalidateEntry(new NodeId(1), "héllo"));
        AssertWire(k.ReadNotification(FuseNotifyCode.InvalEntry), FuseNotifyCode.InvalEntry,
            new ByteWriter().U64(1).U32(6).U32(0).Raw("héllo"u8).Zeros(1).ToArray());

        Assert.Equal(Errno.Ok, k.Notifier.InvalidateEntry(new NodeId(1), "x", expireOnly: true));
        AssertWire(k.ReadNotification(FuseNotifyCode.InvalEntry), FuseNotifyCode.InvalEntry,
            new ByteWriter().U64(1).U32(1).U32(1).Raw("x"u8).Zeros(1).ToArray());
    }

    [Fact]
    public void Delete()
    {
        using var k = FakeKernel.StartInitialized(new TestFileSystem());
        Assert.Equal(Errno.Ok, k.Notifier.Delete(new NodeId(1), new NodeId(2), "hello"));
        AssertWire(k.ReadNotification(FuseNotifyCode.Delete), FuseNotifyCode.Delete,
            new ByteWriter().U64(1).U64(2).U32(5).U32(0).Raw("hello"u8).Zeros(1).ToArray());
    }

    [Fact]
    public void Store_appends_the_data()
    {
        using var k = FakeKernel.StartInitialized(new TestFileSystem());
        byte[] data = [1, 2, 3, 4, 5];
        Assert.Equal(Errno.Ok, k.Notifier.Store(new NodeId(2), 4096, data));
        AssertWire(k.ReadNotification(FuseNotifyCode.Store), FuseNotifyCode.Store,
            new ByteWriter().U64(2).U64(4096).U32(5).U32(0).Raw(data).ToArray());
    }

    [Fact]
    public void Poll_wakeup()
    {
        using var k = FakeKernel.StartInitialized(new TestFileSystem());
        Assert.Equal(Errno.Ok, k.Notifier.PollWakeup(0xDEAD_BEEF_0000_0001));
        AssertWire(k.ReadNotification(FuseNotifyCode.Poll), FuseNotifyCode.Poll, new ByteWriter().U64(0xDEAD_BEEF_0000_0001).ToArray());
    }

    private static (ulong NotifyUnique, FuseMessage Message) ReadRetrieve(FakeKernel k, ulong node, ulong offset, uint size)
    {
        var m = k.ReadNotification(FuseNotifyCode.Retrieve);
        Assert.Equal(32, m.Payload.Length);
        var r = m.Read<FuseNotifyRetrieveOut>();
        Assert.Equal(node, r.NodeId);
        Assert.Equal(offset, r.Offset);
        Assert.Equal(size, r.RetrieveSize);
        Assert.Equal(0u, r.Padding);
        return (r.NotifyUnique, m);
    }

    [Fact]
    public async Task Retrieve_completes_with_the_data_of_the_notify_reply()
    {
        using var k = FakeKernel.StartInitialized(new TestFileSystem());
        var destination = new byte[16];

        var task = k.Notifier.RetrieveAsync(new NodeId(2), 8192, destination);
        var (id, _) = ReadRetrieve(k, 2, 8192, 16);
        Assert.False(task.IsCompleted);

        byte[] data = [10, 20, 30, 40, 50];
        // NOTIFY_REPLY: unique = notify_unique, fuse_notify_retrieve_in (offset, size), then the data.
        k.Send(FuseOpcode.NotifyReply, 2, new FuseNotifyRetrieveIn { Offset = 8192, RetrieveSize = (uint)data.Length }, unique: id, tail: data);

        int n = await task.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(5, n);
        Assert.Equal(data, destination[..5]);
        Assert.All(destination[5..], b => Assert.Equal(0, b));

        // NOTIFY_REPLY is never answered: the next message is the reply to this GETATTR.
        Assert.Equal(0, k.Call(FuseOpcode.GetAttr, 1, new FuseGetAttrIn()).Error);
    }

    [Fact]
    public async Task Retrieve_reply_longer_than_the_destination_is_clipped()
    {
        using var k = FakeKernel.StartInitialized(new TestFileSystem());
        var destination = new byte[4];
        var task = k.Notifier.RetrieveAsync(new NodeId(2), 0, destination);
        var (id, _) = ReadRetrieve(k, 2, 0, 4);

        byte[] data = [1, 2, 3, 4, 5, 6, 7, 8];
        k.Send(FuseOpcode.NotifyReply, 2, new FuseNotifyRetrieveIn { RetrieveSize = (uint)data.Length }, unique: id, tail: data);

        Assert.Equal(4, await task.WaitAsync(TimeSpan.FromSeconds(5)));
        Assert.Equal(data[..4], destination);
    }

    [Fact]
    public async Task Cancelled_retrieve_completes_as_cancelled_and_a_late_reply_is_ignored()
    {
        using var k = FakeKernel.StartInitialized(new TestFileSystem());
        using var cts = new CancellationTokenSource();
        var destination = new byte[8];

        var task = k.Notifier.RetrieveAsync(new NodeId(2), 0, destination, cts.Token);
        var (id, _) = ReadRetrieve(k, 2, 0, 8);
        cts.Cancel();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => task.WaitAsync(TimeSpan.FromSeconds(5)));
        Assert.True(task.IsCanceled);

        k.Send(FuseOpcode.NotifyReply, 2, new FuseNotifyRetrieveIn { RetrieveSize = 3 }, unique: id, tail: [7, 7, 7]);
        Assert.Equal(0, k.Call(FuseOpcode.GetAttr, 1, new FuseGetAttrIn()).Error);
        Assert.All(destination, b => Assert.Equal(0, b));
    }

    [Fact]
    public async Task Retrieve_pending_when_the_connection_ends_fails()
    {
        var k = FakeKernel.StartInitialized(new TestFileSystem());
        Task<int> task;
        try
        {
            task = k.Notifier.RetrieveAsync(new NodeId(2), 0, new byte[8]);
            ReadRetrieve(k, 2, 0, 8);
        }
        finally
        {
            k.Dispose();
        }
        var e = await Assert.ThrowsAsync<FuseException>(() => task.WaitAsync(TimeSpan.FromSeconds(5)));
        Assert.Equal(Errno.ENOTCONN, e.Errno);
    }
}
