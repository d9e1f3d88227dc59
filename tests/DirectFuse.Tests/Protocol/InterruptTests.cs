using DirectFuse.Protocol;
using DirectFuse.Tests.Infrastructure;

namespace DirectFuse.Tests.Protocol;

public sealed class InterruptTests
{
    /// <summary>
    /// The kernel marks an interrupt's own unique with FUSE_INT_REQ_BIT (bit 0; ordinary ids step by 2).
    /// The library must not care which bit it is, so bit 63 is tried too.
    /// </summary>
    [Theory]
    [InlineData(1UL)]
    [InlineData(1UL << 63)]
    public void Interrupt_cancels_the_handler_and_the_request_gets_EINTR(ulong interruptBit)
    {
        var fs = new TestFileSystem();
        using var k = FakeKernel.StartInitialized(fs);

        ulong target = k.Send(FuseOpcode.Lookup, 1, Bytes.Name("hang"));
        k.AssertNoMessage(50);
        // The worker may reach the handler only now on a slow (emulated) machine.
        Assert.True(SpinWait.SpinUntil(() => fs.HangStarted, Patience.Seconds(5)), "the handler never started");

        k.Send(FuseOpcode.Interrupt, 0, new FuseInterruptIn { Unique = target }, unique: target | interruptBit);

        var reply = k.ReadReply(target);
        Assert.Equal(-Errno.EINTR.Value, reply.Error);
        Assert.Empty(reply.Payload);
        // The INTERRUPT itself is never answered, and the worker goes on.
        var next = k.Call(FuseOpcode.GetAttr, 1, new FuseGetAttrIn());
        Assert.Equal(0, next.Error);
    }

    [Fact]
    public void Interrupt_for_an_unknown_request_gets_EAGAIN()
    {
        using var k = FakeKernel.StartInitialized(new TestFileSystem());
        ulong target = 123_456;
        ulong unique = k.Send(FuseOpcode.Interrupt, 0, new FuseInterruptIn { Unique = target }, unique: target | 1);

        var reply = k.ReadReply(unique);
        Assert.Equal(-Errno.EAGAIN.Value, reply.Error);
        Assert.Empty(reply.Payload);
    }

    [Fact]
    public void Interrupt_for_an_already_answered_request_gets_EAGAIN_and_does_not_poison_the_next_request()
    {
        using var k = FakeKernel.StartInitialized(new TestFileSystem());
        var done = k.Call(FuseOpcode.Lookup, 1, Bytes.Name("hello"));
        Assert.Equal(0, done.Error);

        ulong unique = k.Send(FuseOpcode.Interrupt, 0, new FuseInterruptIn { Unique = done.Unique }, unique: done.Unique | 1);
        Assert.Equal(-Errno.EAGAIN.Value, k.ReadReply(unique).Error);

        // The request object that served the interrupted one is reused; its token must be fresh.
        Assert.Equal(0, k.Call(FuseOpcode.Lookup, 1, Bytes.Name("slow")).Error);
    }

    [Fact]
    public void Request_objects_are_usable_after_an_interrupt()
    {
        var fs = new TestFileSystem();
        using var k = FakeKernel.StartInitialized(fs);

        for (int i = 0; i < 3; i++)
        {
            ulong target = k.Send(FuseOpcode.Lookup, 1, Bytes.Name("hang"));
            k.Send(FuseOpcode.Interrupt, 0, new FuseInterruptIn { Unique = target }, unique: target | 1);
            Assert.Equal(-Errno.EINTR.Value, k.ReadReply(target).Error);
        }
        // Pooled objects whose sources were cancelled get new ones: later asynchronous handlers are not cancelled.
        for (int i = 0; i < 4; i++)
            Assert.Equal(0, k.Call(FuseOpcode.Lookup, 1, Bytes.Name("slow")).Error);
    }
}
