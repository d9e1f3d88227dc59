using System.Buffers.Binary;
using DirectFuse.Cuse;
using DirectFuse.Devices;
using DirectFuse.Examples.OssDsp;
using DirectFuse.LowLevel;
using DirectFuse.Protocol;
using DirectFuse.Tests.Infrastructure;
using DirectFuse.Tests.Protocol;

namespace DirectFuse.Tests.Cuse;

/// <summary>The CUSE protocol against the fake kernel: CUSE_INIT's reply, unrestricted ioctls with FUSE_IOCTL_RETRY, and NOTIFY_POLL.</summary>
public sealed class CuseProtocolTests
{
    private const uint CuseUnrestrictedIoctl = 1;

    /// <summary>A device whose ioctl 'T' 1 takes a pointer to {u64 data; u32 len; u32 result}: two retries before it can answer.</summary>
    private sealed class ProbeDevice : CharacterDevice
    {
        public static readonly uint SumCommand = IoctlCommand.Io('T', 1).Value;
        private readonly List<PollWaiter> _waiters = [];

        public override bool RetryIoctlsByCommandNumber => false;

        public override ValueTask<Result<IoctlResult>> IoctlAsync(DeviceFile file, DeviceIoctl request, CancellationToken cancellationToken)
        {
            if (request.Command.Value != SumCommand) return new(Errno.ENOTTY);
            Assert.True(request.IsUnrestricted);
            var input = request.Input.Span;
            if (input.Length < 16) return new(IoctlResult.Retry([new IoctlIovec(request.Argument, 16)], []));
            ulong data = BinaryPrimitives.ReadUInt64LittleEndian(input);
            uint length = BinaryPrimitives.ReadUInt32LittleEndian(input[8..]);
            if (input.Length < 16 + length)
                return new(IoctlResult.Retry([new IoctlIovec(request.Argument, 16), new IoctlIovec(data, length)], [new IoctlIovec(request.Argument, 16)]));
            int sum = 0;
            foreach (byte b in input.Slice(16, (int)length)) sum += b;
            input[..12].CopyTo(request.Output.Span);
            BinaryPrimitives.WriteInt32LittleEndian(request.Output.Span[12..], sum);
            return new(IoctlResult.Done(sum, 16));
        }

        public override ValueTask<Result<PollEvents>> PollAsync(DeviceFile file, PollEvents requested, PollWaiter? waiter, CancellationToken cancellationToken)
        {
            lock (_waiters) if (waiter is not null) _waiters.Add(waiter);
            return new(PollEvents.None);
        }

        public void WakeAll()
        {
            lock (_waiters)
            {
                foreach (var w in _waiters) Assert.Equal(Errno.Ok, w.Wake());
                _waiters.Clear();
            }
        }
    }

    private static FakeKernel StartCuse(CharacterDevice device, CuseDeviceInfo info)
    {
        var k = FakeKernel.ForCuse(device, info);
        try
        {
            var m = k.Call(FuseOpcode.CuseInit, 0, Bytes.Of(new CuseInitIn { Major = 7, Minor = 45, Flags = CuseUnrestrictedIoctl }));
            Assert.Equal(0, m.Error);
            return k;
        }
        catch
        {
            k.Dispose();
            throw;
        }
    }

    private static ulong Open(FakeKernel k)
    {
        // CUSE opens name node 0.
        var m = k.Call(FuseOpcode.Open, 0, new FuseOpenIn { Flags = 2 });
        Assert.Equal(0, m.Error);
        return m.Read<FuseOpenOut>().Fh;
    }

    private static FuseMessage Ioctl(FakeKernel k, ulong fh, uint cmd, ulong arg, byte[] data, uint outSize) =>
        k.Call(FuseOpcode.Ioctl, 0, new FuseIoctlIn { Fh = fh, Flags = (uint)IoctlFlags.Unrestricted, Cmd = cmd, Arg = arg, InSize = (uint)data.Length, OutSize = outSize }, data);

    [Fact]
    public void Cuse_init_reply_is_cuse_init_out_followed_by_the_device_info_strings()
    {
        using var k = FakeKernel.ForCuse(new ProbeDevice(), new CuseDeviceInfo("directfuse-probe") { DevMajor = 240, DevMinor = 7 });
        ulong unique = k.Send(FuseOpcode.CuseInit, 0, Bytes.Of(new CuseInitIn { Major = 7, Minor = 45, Flags = CuseUnrestrictedIoctl }));
        var m = k.ReadReply(unique);
        var info = Bytes.Utf8("DEVNAME=directfuse-probe\0");
        var expected = new ByteWriter()
            .U32((uint)(16 + 72 + info.Length)).I32(0).U64(unique)            // fuse_out_header
            .U32(7).U32(45).U32(0).U32(CuseUnrestrictedIoctl)                // major, minor, unused, flags
            .U32(64 * 1024).U32(64 * 1024).U32(240).U32(7)                   // max_read, max_write, dev_major, dev_minor
            .Zeros(40)                                                       // spare[10]
            .Raw(info)
            .ToArray();
        Assert.Equal(expected, Bytes.Concat(Bytes.Of(m.Header), m.Payload));
        // Marked once the reply is written, which the kernel side may see first.
        Assert.True(k.Core.InitCompleted.Wait(Patience.Milliseconds(5000)));
    }

    [Fact]
    public void Cuse_init_from_another_major_or_on_a_fuse_channel_is_a_protocol_error()
    {
        using (var k = FakeKernel.ForCuse(new ProbeDevice(), new CuseDeviceInfo("x")))
        {
            Assert.Equal(-71, k.Call(FuseOpcode.CuseInit, 0, Bytes.Of(new CuseInitIn { Major = 8, Minor = 0 })).Error);
            // FUSE's INIT on a CUSE channel is refused too, and the device can still be set up after both.
            Assert.Equal(-71, k.Init().Message.Error);
            Assert.Equal(0, k.Call(FuseOpcode.CuseInit, 0, Bytes.Of(new CuseInitIn { Major = 7, Minor = 45 })).Error);
            Assert.Equal(-71, k.Call(FuseOpcode.CuseInit, 0, Bytes.Of(new CuseInitIn { Major = 7, Minor = 45 })).Error); // a second one
        }
        using (var k = new FakeKernel(new TestFileSystem()))
            Assert.Equal(-71, k.Call(FuseOpcode.CuseInit, 0, Bytes.Of(new CuseInitIn { Major = 7, Minor = 45 })).Error);
    }

    [Fact]
    public void Unrestricted_ioctl_asks_for_the_callers_memory_with_FUSE_IOCTL_RETRY()
    {
        using var k = StartCuse(new ProbeDevice(), new CuseDeviceInfo("directfuse-probe"));
        ulong fh = Open(k);
        const ulong Arg = 0x7000_1000, Data = 0x7100_2000;

        // 1: the kernel knows nothing about the argument: in_size 0, out_size 0.
        var m1 = Ioctl(k, fh, ProbeDevice.SumCommand, Arg, [], 0);
        Assert.Equal(0, m1.Error);
        Assert.Equal(new ByteWriter().I32(0).U32(4).U32(1).U32(0).U64(Arg).U64(16).ToArray(), m1.Payload);

        // 2: the struct arrived; now the data it points to, and the struct again to write back.
        var header = new ByteWriter().U64(Data).U32(5).U32(0).ToArray();
        var m2 = Ioctl(k, fh, ProbeDevice.SumCommand, Arg, header, 0);
        Assert.Equal(new ByteWriter().I32(0).U32(4).U32(2).U32(1).U64(Arg).U64(16).U64(Data).U64(5).U64(Arg).U64(16).ToArray(), m2.Payload);

        // 3: in = struct + "hello", out = 16 bytes: the answer.
        var m3 = Ioctl(k, fh, ProbeDevice.SumCommand, Arg, Bytes.Concat(header, Bytes.Utf8("hello")), 16);
        int sum = "hello".Sum(c => c);
        Assert.Equal(new ByteWriter().I32(sum).U32(0).U32(0).U32(0).U64(Data).U32(5).I32(sum).ToArray(), m3.Payload);
    }

    [Fact]
    public void Restricted_style_devices_get_their_argument_by_a_retry_from_the_command_number()
    {
        using var sink = new WavSink(null);
        using var device = new OssDspDevice(sink, mmap: false);
        using var k = StartCuse(device, new CuseDeviceInfo("directfuse-dsp"));
        ulong fh = Open(k);
        const ulong Arg = 0x7fff_0000;
        var m1 = Ioctl(k, fh, Oss.Speed.Value, Arg, [], 0);
        Assert.Equal(new ByteWriter().I32(0).U32(4).U32(1).U32(1).U64(Arg).U64(4).U64(Arg).U64(4).ToArray(), m1.Payload);
        var m2 = Ioctl(k, fh, Oss.Speed.Value, Arg, new ByteWriter().I32(44100).ToArray(), 4);
        Assert.Equal(new ByteWriter().I32(0).U32(0).U32(0).U32(0).I32(44100).ToArray(), m2.Payload);
        // _IO commands need no memory: answered at once.
        Assert.Equal(new ByteWriter().I32(0).U32(0).U32(0).U32(0).ToArray(), Ioctl(k, fh, Oss.Reset.Value, 0, [], 0).Payload);
        // An unknown _IOR command: its int is fetched like any other, then the device answers ENOTTY.
        Assert.Equal(0, Ioctl(k, fh, 0x80045063, Arg, [], 0).Error);
        Assert.Equal(-25, Ioctl(k, fh, 0x80045063, Arg, [], 4).Error);
    }

    [Fact]
    public void Poll_registers_the_kernel_handle_and_the_device_wakes_it_with_NOTIFY_POLL()
    {
        var device = new ProbeDevice();
        using var k = StartCuse(device, new CuseDeviceInfo("directfuse-probe"));
        ulong fh = Open(k);
        var m = k.Call(FuseOpcode.Poll, 0, new FusePollIn { Fh = fh, Kh = 0x55, Flags = FusePollIn.FlagScheduleNotify, Events = 1 });
        Assert.Equal(0, m.Error);
        Assert.Equal(new byte[8], m.Payload); // revents 0, padding
        k.AssertNoMessage();
        device.WakeAll();
        var n = k.ReadNotification(FuseNotifyCode.Poll);
        Assert.Equal(0x55ul, n.Read<FuseNotifyPollWakeupOut>().Kh);
    }
}
