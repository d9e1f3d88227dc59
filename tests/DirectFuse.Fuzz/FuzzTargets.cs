using DirectFuse.Cuse;
using DirectFuse.Devices;
using DirectFuse.Examples.MemFs;
using DirectFuse.Examples.OssDsp;
using DirectFuse.LowLevel;
using DirectFuse.Protocol;
using DirectFuse.Session;

namespace DirectFuse.Fuzz;

/// <summary>The file systems a round serves: memfs, a character device over FUSE, and the same device over CUSE.</summary>
internal static class FuzzTargets
{
    public static readonly string[] Names = ["memfs", "device", "cuse"];

    /// <summary>A fresh file system for <paramref name="name"/>, its CUSE side when its channel is CUSE, and what to dispose after.</summary>
    public static (LowLevelFileSystem FileSystem, ICuseServer? Cuse, IDisposable? Owned) Create(string name)
    {
        switch (name)
        {
            case "memfs":
                // Bounded, so what the fuzzer writes cannot take the machine's memory (memfs answers ENOSPC).
                return (new MemFileSystem(new MemFileSystemOptions { Capacity = 64L << 20, MaxNodes = 10_000 }), null, null);
            case "device":
                var dsp = new OssDspDevice(new WavSink(null), mmap: true);
                return (new DeviceFileSystem(dsp), null, dsp);
            case "cuse":
                var cuseDsp = new OssDspDevice(new WavSink(null), mmap: true);
                var server = new CuseDeviceServer(cuseDsp, new CuseDeviceInfo("fuzz-dsp") { UnrestrictedIoctl = true });
                return (server.FileSystem, server, cuseDsp);
            default:
                throw new ArgumentException($"unknown target '{name}' (memfs, device, cuse)", nameof(name));
        }
    }

    /// <summary>The set-up request a kernel sends first: INIT of 7.45 offering everything, or CUSE_INIT.</summary>
    public static byte[] InitRequest(bool cuse)
    {
        var args = new WireWriter();
        if (cuse)
        {
            args.U32(7).U32(45).U32(0).U32(1); // CUSE_UNRESTRICTED_IOCTL
        }
        else
        {
            ulong offer = (ulong)(((InitFlags)0xFFFF_FFFFUL & ~InitFlags.InitReserved) | InitFlags.SecurityCtx | InitFlags.CreateSuppGroup
                | InitFlags.HasExpireOnly | InitFlags.DirectIoAllowMmap | InitFlags.NoExportSupport | InitFlags.HasResend | InitFlags.AllowIdmap);
            args.U32(7).U32(45).U32(128 * 1024).U32((uint)offer).U32((uint)(offer >> 32));
            for (int i = 0; i < 11; i++) args.U32(0);
        }
        var a = args.ToArray();
        var bytes = new WireWriter().U32((uint)(RequestGenerator.HeaderSize + a.Length)).U32(cuse ? (uint)FuseOpcode.CuseInit : (uint)FuseOpcode.Init)
            .U64(0).U64(0).U32(0).U32(0).U32(0).U32(0).Raw(a).ToArray();
        return bytes;
    }
}
