using DirectFuse.Devices;
using DirectFuse.DirectMmap;
using DirectFuse.Examples.OssDsp;
using DirectFuse.LowLevel;
using DirectFuse.Protocol;
using DirectFuse.Tests.Protocol;

namespace DirectFuse.Tests.Devices;

/// <summary>
/// How the FUSE device host opens the device for each kernel, against the fake kernel: direct I/O where the
/// kernel can map direct-I/O files (6.6+), cached write-through opens for mapping clients where it cannot.
/// The real mounts (OssDspTests, run on 6.1 by scripts/kernel-matrix.sh) show that clients then work.
/// </summary>
public sealed class DeviceOpenModeTests
{
    private const int ReadOnly = 0, WriteOnly = 1, ReadWrite = 2;

    private sealed class Fixture : IDisposable
    {
        private readonly string _dir = Directory.CreateTempSubdirectory("df-devopen-").FullName;
        private readonly WavSink _sink;
        private readonly OssDspDevice _device;

        public Fixture(InitFlags offer)
        {
            _sink = new WavSink(Path.Combine(_dir, "out.wav"));
            _device = new OssDspDevice(_sink);
            Host = new DeviceFileSystem(_device);
            Kernel = new FakeKernel(Host);
            var init = Kernel.InitModern(offer).Out;
            Want = (InitFlags)(init.Flags | ((ulong)init.Flags2 << 32));
        }

        public FakeKernel Kernel { get; }
        public DeviceFileSystem Host { get; }
        public InitFlags Want { get; }

        public void Dispose()
        {
            Kernel.Dispose();
            _device.Dispose();
            _sink.Dispose();
            Directory.Delete(_dir, true);
        }
    }

    private static OpenReplyFlags OpenFlags(FakeKernel kernel, int accessMode)
    {
        var open = kernel.Call(FuseOpcode.Open, 1, new FuseOpenIn { Flags = (uint)accessMode });
        Assert.Equal(0, open.Error);
        var reply = open.Read<FuseOpenOut>();
        Assert.Equal(0, kernel.Call(FuseOpcode.Release, 1, new FuseReleaseIn { Fh = reply.Fh, Flags = (uint)accessMode }).Error);
        return (OpenReplyFlags)reply.OpenFlags;
    }

    [Fact]
    public void With_direct_io_mmap_every_open_is_direct_io()
    {
        using var f = new Fixture(FakeKernel.ModernOffer);
        Assert.Equal(DirectMmapMode.PageCache, f.Host.MmapMode);
        Assert.Equal(InitFlags.DirectIoAllowMmap, f.Want & InitFlags.DirectIoAllowMmap);
        foreach (int mode in new[] { ReadOnly, WriteOnly, ReadWrite })
            Assert.Equal(OpenReplyFlags.DirectIo, OpenFlags(f.Kernel, mode) & OpenReplyFlags.DirectIo);
    }

    [Fact]
    public void Before_linux_6_6_mapping_opens_are_cached_and_stream_opens_stay_direct_io()
    {
        using var f = new Fixture(FakeKernel.ModernOffer & ~InitFlags.DirectIoAllowMmap);
        Assert.Equal(DirectMmapMode.PageCache, f.Host.MmapMode);
        Assert.Contains("FUSE_DIRECT_IO_ALLOW_MMAP", f.Host.MmapModeReason);
        Assert.Equal(InitFlags.None, f.Want & InitFlags.DirectIoAllowMmap);
        // The OSS device maps only O_RDWR opens (as in passthrough mode): sox's O_WRONLY stream stays direct.
        Assert.Equal(OpenReplyFlags.DirectIo, OpenFlags(f.Kernel, WriteOnly) & OpenReplyFlags.DirectIo);
        Assert.Equal(OpenReplyFlags.DirectIo, OpenFlags(f.Kernel, ReadOnly) & OpenReplyFlags.DirectIo);
        Assert.Equal(OpenReplyFlags.None, OpenFlags(f.Kernel, ReadWrite) & (OpenReplyFlags.DirectIo | OpenReplyFlags.KeepCache));
    }
}
