using DirectFuse.LowLevel;
using DirectFuse.Protocol;
using DirectFuse.Session;

namespace DirectFuse.Tests.Protocol;

public sealed class InitTests
{
    private const int EPROTO = 71;

    [Fact]
    public async Task Modern_kernel_gets_a_64_byte_reply_with_the_intersection_of_wanted_and_offered()
    {
        const InitFlags want = InitFlags.AsyncRead | InitFlags.BigWrites | InitFlags.WritebackCache | InitFlags.InitExt
            | InitFlags.HasExpireOnly | InitFlags.AllowIdmap | InitFlags.OverIoUring;
        const InitFlags offer = InitFlags.AsyncRead | InitFlags.BigWrites | InitFlags.PosixLocks | InitFlags.InitExt
            | InitFlags.HasExpireOnly | InitFlags.AllowIdmap | InitFlags.DirectIoAllowMmap;
        var fs = new TestFileSystem { OnInit = c => c.Want = want };
        using var k = new FakeKernel(fs);

        var (m, o, length) = await k.InitAsync(minor: 45, offer, (uint)((ulong)offer >> 32));

        Assert.Equal(0, m.Error);
        Assert.Equal(FuseInitOut.Size, length);
        Assert.Equal(7u, o.Major);
        Assert.Equal(45u, o.Minor);
        const InitFlags expected = want & offer;
        Assert.Equal(unchecked((uint)expected), o.Flags);
        Assert.Equal((uint)((ulong)expected >> 32), o.Flags2);
        Assert.Equal(expected, k.Core.Connection.Negotiated);
        Assert.Equal(offer, k.Core.Connection.Offered);
        Assert.Equal(0u, o.MaxStackDepth);
        Assert.True(k.Core.Initialized);
        Assert.Equal(45u, k.Core.Connection.ProtocolMinor);
    }

    [Fact]
    public void Default_capabilities_are_a_subset_of_the_offer_and_limits_follow_the_options()
    {
        using var k = new FakeKernel(new TestFileSystem());
        var (m, o, length) = k.InitModern();

        Assert.Equal(0, m.Error);
        Assert.Equal(FuseInitOut.Size, length);
        var negotiated = (InitFlags)((ulong)o.Flags2 << 32 | o.Flags);
        Assert.Equal(InitFlags.None, negotiated & ~FakeKernel.ModernOffer);
        Assert.True(negotiated.HasFlag(InitFlags.InitExt | InitFlags.AsyncRead | InitFlags.MaxPages | InitFlags.HasExpireOnly));
        Assert.False(negotiated.HasFlag(InitFlags.PosixLocks), "no locks declared (ServedLocks): POSIX locks stay in the kernel");
        Assert.Equal(64u * 1024, o.MaxWrite);
        Assert.Equal((ushort)16, o.MaxPages);
        Assert.Equal(128u * 1024, o.MaxReadahead);
        Assert.Equal(1u, o.TimeGran);
    }

    [Fact]
    public async Task Flags2_is_ignored_and_not_answered_without_INIT_EXT()
    {
        var fs = new TestFileSystem { OnInit = c => c.Want = InitFlags.AsyncRead | InitFlags.InitExt | InitFlags.HasExpireOnly };
        using var k = new FakeKernel(fs);

        // A kernel that does not set INIT_EXT: whatever is in flags2 is not an offer.
        var (m, o, _) = await k.InitAsync(minor: 45, InitFlags.AsyncRead, flags2: (uint)((ulong)InitFlags.HasExpireOnly >> 32));

        Assert.Equal(0, m.Error);
        Assert.Equal((uint)InitFlags.AsyncRead, o.Flags);
        Assert.Equal(0u, o.Flags2);
        Assert.Equal(InitFlags.AsyncRead, k.Core.Connection.Negotiated);
    }

    [Fact]
    public void High_capabilities_count_as_negotiated_only_when_flags2_carries_them()
    {
        // The file system asks for a flags2 capability but drops INIT_EXT: the kernel cannot see flags2,
        // so the connection must not claim the capability either.
        var fs = new TestFileSystem { OnInit = c => c.Want = InitFlags.AsyncRead | InitFlags.HasExpireOnly };
        using var k = new FakeKernel(fs);

        var (m, o, _) = k.InitModern();

        Assert.Equal(0, m.Error);
        bool carried = (o.Flags & (uint)InitFlags.InitExt) != 0;
        ulong told = o.Flags | (carried ? (ulong)o.Flags2 << 32 : 0);
        Assert.Equal((InitFlags)told, k.Core.Connection.Negotiated);
    }

    [Fact]
    public void Passthrough_sets_max_stack_depth()
    {
        var fs = new TestFileSystem
        {
            OnInit = c =>
            {
                c.Want |= InitFlags.Passthrough;
                c.MaxStackDepth = 2;
            },
        };
        using var k = new FakeKernel(fs);
        var (m, o, length) = k.InitModern();

        Assert.Equal(0, m.Error);
        Assert.Equal(FuseInitOut.Size, length);
        Assert.NotEqual(0u, o.Flags2 & (uint)((ulong)InitFlags.Passthrough >> 32));
        Assert.NotEqual(0u, o.Flags & (uint)InitFlags.InitExt);
        Assert.Equal(2u, o.MaxStackDepth);
        Assert.True(k.Core.Connection.Has(InitFlags.Passthrough));
    }

    [Fact]
    public void Passthrough_is_dropped_with_writeback_cache()
    {
        var fs = new TestFileSystem { OnInit = c => c.Want |= InitFlags.Passthrough | InitFlags.WritebackCache };
        using var k = new FakeKernel(fs);
        var (_, o, _) = k.InitModern();

        Assert.Equal(0u, o.Flags2 & (uint)((ulong)InitFlags.Passthrough >> 32));
        Assert.NotEqual(0u, o.Flags & (uint)InitFlags.WritebackCache);
        Assert.Equal(0u, o.MaxStackDepth);
    }

    [Fact]
    public void Kernel_7_22_gets_the_24_byte_reply()
    {
        using var k = new FakeKernel(new TestFileSystem());
        var (m, o, length) = k.Init(minor: 22, InitFlags.AsyncRead | InitFlags.BigWrites);

        Assert.Equal(0, m.Error);
        Assert.Equal(FuseInitOut.Compat22Size, length);
        Assert.Equal(7u, o.Major);
        Assert.Equal((uint)(InitFlags.AsyncRead | InitFlags.BigWrites), o.Flags);
        Assert.Equal(64u * 1024, o.MaxWrite);
        Assert.Equal(22u, k.Core.Connection.ProtocolMinor);
        Assert.True(k.Core.Initialized);
    }

    [Fact]
    public void Newer_major_gets_our_major_and_a_second_INIT_succeeds()
    {
        using var k = new FakeKernel(new TestFileSystem());
        var (m, o, _) = k.Init(minor: 0, major: 8);

        Assert.Equal(0, m.Error);
        Assert.Equal(7u, o.Major);
        Assert.False(k.Core.Initialized);

        var again = k.InitModern();
        Assert.Equal(0, again.Message.Error);
        Assert.True(k.Core.Initialized);
    }

    [Theory]
    [InlineData(7u, 11u)]
    [InlineData(6u, 45u)]
    public void Too_old_kernel_gets_EPROTO(uint major, uint minor)
    {
        using var k = new FakeKernel(new TestFileSystem());
        var (m, _, length) = k.Init(minor, InitFlags.AsyncRead, major: major);

        Assert.Equal(-EPROTO, m.Error);
        Assert.Equal(0, length);
        Assert.False(k.Core.Initialized);
    }

    [Fact]
    public void Connection_counts_as_initialized_only_after_the_INIT_reply_is_written()
    {
        // Only once the kernel has processed the INIT reply (our write returns then) do the capabilities it
        // grants work: a passthrough probe made earlier would be refused. Observed at the write itself: a
        // channel whose write fails calls WriteFailed synchronously from inside the reply.
        using var k = new FakeKernel(new TestFileSystem());
        using var dead = new FuseChannel(-1, "closed");
        (bool Initialized, bool InProgress)? atWrite = null;
        var r = new FuseRequest(k.Core.Pool.InSize, k.Core.Pool.OutSize)
        {
            Sink = dead,
            WriteFailed = (_, _) => atWrite = (k.Core.Initialized, k.Core.InitInProgress),
        };
        var init = new byte[64];
        Bytes.Of(new FuseInitIn { Major = 7, Minor = 45, Flags = (uint)InitFlags.InitExt }).CopyTo(init, 0);
        var request = FakeKernel.BuildRequest(FuseOpcode.Init, 2, 0, init);
        request.CopyTo(r.InBuffer);
        Assert.True(r.Load(request.Length));

        Assert.True(k.Core.Dispatcher.DispatchAsync(r).IsCompletedSuccessfully);

        Assert.Equal((false, true), atWrite);
        Assert.True(k.Core.Initialized);
    }

    [Fact]
    public void A_second_INIT_or_the_wrong_kind_of_INIT_is_a_protocol_error_and_changes_nothing()
    {
        using var k = new FakeKernel(new TestFileSystem());
        Assert.Equal(0, k.InitModern().Message.Error);
        var negotiated = k.Core.Connection.Negotiated;

        Assert.Equal(-EPROTO, k.Init(flags: InitFlags.AsyncRead).Message.Error);
        Assert.Equal(negotiated, k.Core.Connection.Negotiated);
        Assert.Equal(-EPROTO, k.Call(FuseOpcode.CuseInit, 0, Bytes.Of(new CuseInitIn { Major = 7, Minor = 45 })).Error);
        Assert.True(k.Core.Initialized);
        Assert.Equal(0, k.Call(FuseOpcode.GetAttr, 1, Bytes.Of(new FuseGetAttrIn())).Error);
    }

    [Fact]
    public void Requests_that_take_no_answer_get_none_before_INIT()
    {
        using var k = new FakeKernel(new TestFileSystem());
        k.Send(FuseOpcode.Forget, 2, Bytes.Of(new FuseForgetIn { NLookup = 1 }));
        k.Send(FuseOpcode.BatchForget, 0, Bytes.Of(new FuseBatchForgetIn { Count = 0 }));
        // The next message the kernel sees answers this GETATTR: nothing was sent for the two forgets.
        ulong unique = k.Send(FuseOpcode.GetAttr, 1, Bytes.Of(new FuseGetAttrIn()));
        Assert.Equal(-Errno.EIO.Value, k.ReadReply(unique).Error);
    }

    [Fact]
    public void Requests_before_INIT_get_EIO()
    {
        using var k = new FakeKernel(new TestFileSystem());

        var getattr = k.Call(FuseOpcode.GetAttr, 1, Bytes.Of(new FuseGetAttrIn()));
        Assert.Equal(-Errno.EIO.Value, getattr.Error);
        Assert.Empty(getattr.Payload);
        var lookup = k.Call(FuseOpcode.Lookup, 1, Bytes.Name("hello"));
        Assert.Equal(-Errno.EIO.Value, lookup.Error);

        Assert.Equal(0, k.InitModern().Message.Error);
        Assert.Equal(0, k.Call(FuseOpcode.GetAttr, 1, Bytes.Of(new FuseGetAttrIn())).Error);
    }
}
