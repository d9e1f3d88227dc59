using System.Buffers.Binary;
using DirectFuse.DirectMmap;
using DirectFuse.Devices;
using DirectFuse.Examples.OssDsp;
using DirectFuse.Session;
using DirectFuse.Tests.Infrastructure;
using DirectFuse.Transport;

namespace DirectFuse.Tests.Devices;

/// <summary>
/// An <see cref="OssDspDevice"/> mounted in-process on a fresh regular file, writing to a fresh WAV file.
/// Dispose unmounts, stops the player and removes both files, also when the test failed.
/// </summary>
public sealed class OssDspMount : IDisposable
{
    private readonly string _dir;

    private OssDspMount(string dir, OssDspDevice device, WavSink sink, DeviceFileSystem host, FuseSession session)
    {
        _dir = dir;
        Device = device;
        Sink = sink;
        Host = host;
        Session = session;
    }

    public string DevicePath => Path.Combine(_dir, "dsp");
    public string WavPath => Path.Combine(_dir, "out.wav");
    public OssDspDevice Device { get; }
    public WavSink Sink { get; }
    public DeviceFileSystem Host { get; }
    public FuseSession Session { get; }

    public static OssDspMount Create(DirectMmapMode mode = DirectMmapMode.PageCache)
    {
        string dir = Directory.CreateTempSubdirectory("df-dsp-").FullName;
        var sink = new WavSink(Path.Combine(dir, "out.wav"));
        var device = new OssDspDevice(sink);
        var host = new DeviceFileSystem(device, new DeviceHostOptions { MmapMode = mode });
        try
        {
            // The device file does not exist yet: Mount creates it, as the CLI does.
            var session = host.Mount(Path.Combine(dir, "dsp"), new FuseSessionOptions { Mount = new MountOptions { Subtype = "ossdsp", FsName = "ossdsp" } });
            return new OssDspMount(dir, device, sink, host, session);
        }
        catch
        {
            device.Dispose();
            sink.Dispose();
            Directory.Delete(dir, recursive: true);
            throw;
        }
    }

    /// <summary>The WAV's format and its data bytes (the header must describe the data exactly).</summary>
    public (int Rate, int Channels, int Bits, byte[] Data) ReadWav()
    {
        var bytes = File.ReadAllBytes(WavPath);
        Assert.True(bytes.Length >= 44, $"the WAV has {bytes.Length} bytes");
        Assert.Equal("RIFF", System.Text.Encoding.ASCII.GetString(bytes, 0, 4));
        Assert.Equal("WAVE", System.Text.Encoding.ASCII.GetString(bytes, 8, 4));
        int channels = BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(22));
        int rate = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(24));
        int bits = BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(34));
        int dataLength = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(40));
        Assert.Equal(bytes.Length - 44, dataLength);
        Assert.Equal(36 + dataLength, BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(4)));
        return (rate, channels, bits, bytes[44..]);
    }

    public void Dispose()
    {
        Session.Dispose();
        Device.Dispose();
        Sink.Dispose();
        Mounts.ForceUnmount(DevicePath);
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
            // A lazily detached mount may keep the file busy for a moment; the temp directory is harmless.
        }
    }
}

/// <summary>Python clients of the OSS device.</summary>
public static class OssClients
{
    /// <summary>
    /// The mmap sequence of id Software's snd_linux.c (Quake): GETCAPS, SETFMT S16_LE, CHANNELS 2, SPEED,
    /// GETOSPACE, mmap fragstotal*fragsize MAP_SHARED, SETTRIGGER 0 then PCM_ENABLE_OUTPUT, then a GETOPTR loop
    /// painting ahead of the pointer. Arguments: device, rate, frames. Prints "rate fragsize fragstotal played signal-bytes painted-bytes".
    /// </summary>
    public const string QuakeMmap = """
# A client following the OSS mmap sequence of id Software's snd_linux.c (Quake, 1996-99).
import fcntl, mmap, os, struct, sys, time
RESET, SPEED, SETFMT, CHANNELS = 0x00005000, 0xC0045002, 0xC0045005, 0xC0045006
GETOSPACE, GETCAPS, SETTRIGGER, GETOPTR = 0x8010500C, 0x8004500F, 0x40045010, 0x800C5012
AFMT_S16_LE, DSP_CAP_TRIGGER, DSP_CAP_MMAP, PCM_ENABLE_OUTPUT = 0x10, 0x1000, 0x2000, 2
path, rate, frames = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])

def ioctl_int(fd, cmd, value):
    buf = bytearray(struct.pack('i', value))
    fcntl.ioctl(fd, cmd, buf, True)
    return struct.unpack('i', buf)[0]

fd = os.open(path, os.O_RDWR)
fcntl.ioctl(fd, RESET, 0)
caps = ioctl_int(fd, GETCAPS, 0)
if not (caps & DSP_CAP_TRIGGER) or not (caps & DSP_CAP_MMAP):
    sys.exit('device lacks trigger/mmap: caps=%#x' % caps)
assert ioctl_int(fd, SETFMT, AFMT_S16_LE) == AFMT_S16_LE
assert ioctl_int(fd, CHANNELS, 2) == 2
rate = ioctl_int(fd, SPEED, rate)
info = bytearray(16)
fcntl.ioctl(fd, GETOSPACE, info, True)
fragments, fragstotal, fragsize, nbytes = struct.unpack('4i', info)
size = fragstotal * fragsize
dma = mmap.mmap(fd, size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
dma[:] = bytes(size)

# A deterministic signal: left and right differ, every 16-bit value occurs.
signal = bytearray()
for i in range(frames):
    signal += struct.pack('<hh', (i * 7919) % 65536 - 32768, (i * 104729 + 12345) % 65536 - 32768)
written = 0
def paint(upto):
    global written
    while written < upto:
        pos = written % size
        n = min(upto - written, size - pos)
        chunk = signal[written:written + n]
        dma[pos:pos + n] = chunk + bytes(n - len(chunk))
        written += n

paint(size - fragsize)            # ahead of the pointer before the start, as a careful mixer does
ioctl_int(fd, SETTRIGGER, 0)
ioctl_int(fd, SETTRIGGER, PCM_ENABLE_OUTPUT)
played, last_ptr, wraps = 0, 0, 0
deadline = time.time() + 30
while played < len(signal) + fragsize and time.time() < deadline:
    ci = bytearray(12)
    fcntl.ioctl(fd, GETOPTR, ci, True)
    total, blocks, ptr = struct.unpack('3i', ci)
    if ptr < last_ptr:
        wraps += 1
    last_ptr = ptr
    played = wraps * size + ptr   # Quake's samplepos bookkeeping
    if played > written:
        sys.exit('the pointer overtook the mixer: played %d, written %d' % (played, written))
    paint(played + size - fragsize)
    time.sleep(0.005)
dma.close()
os.close(fd)
print(rate, fragsize, fragstotal, played, len(signal), written)
""";

    /// <summary>The samples <see cref="QuakeMmap"/> plays: frame i is (i*7919, i*104729+12345) mod 65536, as signed 16-bit LE.</summary>
    public static byte[] QuakeSignal(int frames)
    {
        var bytes = new byte[frames * 4];
        for (int i = 0; i < frames; i++)
        {
            BinaryPrimitives.WriteInt16LittleEndian(bytes.AsSpan(i * 4), (short)((long)i * 7919 % 65536 - 32768));
            BinaryPrimitives.WriteInt16LittleEndian(bytes.AsSpan(i * 4 + 2), (short)(((long)i * 104729 + 12345) % 65536 - 32768));
        }
        return bytes;
    }
}
