using System.Runtime.InteropServices;
using DirectFuse.Devices;

namespace DirectFuse.Examples.OssDsp;

/// <summary>
/// The OSS /dev/dsp interface as in Debian's linux-libc-dev &lt;linux/soundcard.h&gt;: ioctl numbers (built
/// from _SIO/_SIOR/_SIOW/_SIOWR with type 'P'), sample formats, capability and trigger bits.
/// </summary>
public static class Oss
{
    public static readonly IoctlCommand Reset = IoctlCommand.Io('P', 0);            // 0x00005000
    public static readonly IoctlCommand Sync = IoctlCommand.Io('P', 1);             // 0x00005001
    public static readonly IoctlCommand Speed = IoctlCommand.Iowr('P', 2, 4);       // 0xC0045002
    public static readonly IoctlCommand Stereo = IoctlCommand.Iowr('P', 3, 4);      // 0xC0045003
    public static readonly IoctlCommand GetBlkSize = IoctlCommand.Iowr('P', 4, 4);  // 0xC0045004
    public static readonly IoctlCommand SetFmt = IoctlCommand.Iowr('P', 5, 4);      // 0xC0045005
    public static readonly IoctlCommand Channels = IoctlCommand.Iowr('P', 6, 4);    // 0xC0045006
    public static readonly IoctlCommand Post = IoctlCommand.Io('P', 8);             // 0x00005008
    public static readonly IoctlCommand SetFragment = IoctlCommand.Iowr('P', 10, 4); // 0xC004500A
    public static readonly IoctlCommand GetFmts = IoctlCommand.Ior('P', 11, 4);     // 0x8004500B
    public static readonly IoctlCommand GetOSpace = IoctlCommand.Ior('P', 12, 16);  // 0x8010500C
    public static readonly IoctlCommand GetISpace = IoctlCommand.Ior('P', 13, 16);  // 0x8010500D
    public static readonly IoctlCommand NonBlock = IoctlCommand.Io('P', 14);        // 0x0000500E
    public static readonly IoctlCommand GetCaps = IoctlCommand.Ior('P', 15, 4);     // 0x8004500F
    public static readonly IoctlCommand GetTrigger = IoctlCommand.Ior('P', 16, 4);  // 0x80045010
    public static readonly IoctlCommand SetTrigger = IoctlCommand.Iow('P', 16, 4);  // 0x40045010
    public static readonly IoctlCommand GetIPtr = IoctlCommand.Ior('P', 17, 12);    // 0x800C5011
    public static readonly IoctlCommand GetOPtr = IoctlCommand.Ior('P', 18, 12);    // 0x800C5012
    public static readonly IoctlCommand GetODelay = IoctlCommand.Ior('P', 23, 4);   // 0x80045017

    public const int AfmtQuery = 0, AfmtU8 = 0x08, AfmtS16Le = 0x10, AfmtS16Be = 0x20;
    public const int CapRevisionMask = 0xFF, CapRealtime = 0x200, CapTrigger = 0x1000, CapMmap = 0x2000;
    public const int PcmEnableInput = 1, PcmEnableOutput = 2;
}

/// <summary><c>audio_buf_info</c>: GETOSPACE/GETISPACE.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct AudioBufInfo
{
    /// <summary>Whole fragments that can be written without blocking.</summary>
    public int Fragments;
    public int FragsTotal;
    public int FragSize;
    /// <summary>Bytes that can be written without blocking.</summary>
    public int Bytes;
}

/// <summary><c>count_info</c>: GETOPTR/GETIPTR.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct CountInfo
{
    /// <summary>Total bytes played since the start (wraps).</summary>
    public int Bytes;
    /// <summary>Fragments completed since the previous GETOPTR.</summary>
    public int Blocks;
    /// <summary>The playback position in the buffer (mmap clients write ahead of it).</summary>
    public int Ptr;
}

/// <summary>A PCM sample format: rate, channels, bits.</summary>
public readonly record struct PcmFormat(int Rate, int Channels, int Bits)
{
    public int FrameSize => Channels * Bits / 8;
    public int BytesPerSecond => Rate * FrameSize;
    public override string ToString() => $"{Rate} Hz, {Channels} ch, {Bits}-bit";
}
