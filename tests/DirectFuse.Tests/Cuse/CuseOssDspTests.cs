using DirectFuse.Cuse;
using DirectFuse.Devices;
using DirectFuse.Examples.OssDsp;
using DirectFuse.Protocol;
using DirectFuse.Tests.Protocol;

namespace DirectFuse.Tests.Cuse;

/// <summary>
/// The OSS device served over CUSE, through the fake kernel as a real CUSE kernel speaks: it never sends FLUSH at
/// close(2), only RELEASE, so whatever is queued must play out there.
/// </summary>
public sealed class CuseOssDspTests
{
    [Fact]
    public void Release_without_flush_plays_out_everything_written()
    {
        string dir = Directory.CreateTempSubdirectory("df-cuse-dsp-").FullName;
        try
        {
            using var sink = new WavSink(Path.Combine(dir, "out.wav"));
            using var device = new OssDspDevice(sink, mmap: false);
            using var k = FakeKernel.ForCuse(device, new CuseDeviceInfo("dsp"), workers: 2);
            Assert.Equal(0, k.Call(FuseOpcode.CuseInit, 0, Bytes.Of(new CuseInitIn { Major = 7, Minor = 45, Flags = 1 })).Error);
            var open = k.Call(FuseOpcode.Open, 0, new FuseOpenIn { Flags = 1 }); // O_WRONLY
            Assert.Equal(0, open.Error);
            ulong fh = open.Read<FuseOpenOut>().Fh;
            // Half a second at OSS's default format (8 kHz, 8-bit, mono), in writes of 1000 bytes.
            var samples = Enumerable.Range(0, 4000).Select(i => (byte)(128 + (i % 50))).ToArray();
            for (int at = 0; at < samples.Length; at += 1000)
            {
                var write = k.Call(FuseOpcode.Write, 0, new FuseWriteIn { Fh = fh, Offset = 0, WriteSize = 1000, Flags = 1 }, samples.AsSpan(at, 1000));
                Assert.Equal(0, write.Error);
                Assert.Equal(1000u, write.Read<FuseWriteOut>().WriteSize);
            }
            var release = k.Call(FuseOpcode.Release, 0, new FuseReleaseIn { Fh = fh, Flags = 1 });
            Assert.Equal(0, release.Error);
            // Answered only once the queue played out: the WAV holds every byte.
            Assert.Equal(samples.Length, sink.DataBytes);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
