using System.Buffers.Binary;

namespace DirectFuse.Testing.Wire;

/// <summary>Little-endian reads of reply payloads, by the offsets of the kernel's fuse.h structs.</summary>
internal static class WireReader
{
    public const int OutHeaderSize = 16, InHeaderSize = 40, AttrSize = 88, EntryOutSize = 128, AttrOutSize = 104,
        OpenOutSize = 16, WriteOutSize = 8, StatFsOutSize = 80, XattrSizeOutSize = 8, DirentHeaderSize = 24;

    public static uint U32(ReadOnlySpan<byte> bytes, int at) => BinaryPrimitives.ReadUInt32LittleEndian(bytes[at..]);
    public static ulong U64(ReadOnlySpan<byte> bytes, int at) => BinaryPrimitives.ReadUInt64LittleEndian(bytes[at..]);
    public static int I32(ReadOnlySpan<byte> bytes, int at) => BinaryPrimitives.ReadInt32LittleEndian(bytes[at..]);

    /// <summary>A fuse_attr at <paramref name="at"/>, with the attribute timeout that came with it.</summary>
    public static FuseAttributes Attr(ReadOnlySpan<byte> bytes, int at, TimeSpan timeout)
    {
        var a = bytes.Slice(at, AttrSize);
        return new FuseAttributes
        {
            Ino = U64(a, 0),
            Size = (long)U64(a, 8),
            Blocks = (long)U64(a, 16),
            AccessTime = Time(U64(a, 24), U32(a, 48)),
            ModificationTime = Time(U64(a, 32), U32(a, 52)),
            ChangeTime = Time(U64(a, 40), U32(a, 56)),
            Mode = U32(a, 60),
            LinkCount = U32(a, 64),
            Uid = U32(a, 68),
            Gid = U32(a, 72),
            Rdev = U32(a, 76),
            BlockSize = U32(a, 80),
            Timeout = timeout,
        };
    }

    /// <summary>A timeout as the kernel reads it: seconds and nanoseconds.</summary>
    public static TimeSpan Timeout(ulong seconds, uint nanoseconds) =>
        seconds > (ulong)TimeSpan.MaxValue.TotalSeconds - 1 ? TimeSpan.MaxValue : TimeSpan.FromSeconds(seconds) + TimeSpan.FromTicks(nanoseconds / 100);

    private static DateTimeOffset Time(ulong seconds, uint nanoseconds)
    {
        long s = (long)seconds;
        // Outside what DateTimeOffset holds: clamp, the raw value is still in the reply for SendRawAsync users.
        if (s < -62_135_596_800L) return DateTimeOffset.MinValue;
        if (s > 253_402_300_799L) return DateTimeOffset.MaxValue;
        return DateTimeOffset.FromUnixTimeSeconds(s).AddTicks(Math.Min(nanoseconds, 999_999_999u) / 100);
    }
}
