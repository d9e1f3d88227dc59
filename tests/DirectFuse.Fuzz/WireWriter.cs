using System.Buffers.Binary;

namespace DirectFuse.Fuzz;

/// <summary>Little-endian request bytes, written field by field so a layout can be bent (short, long, wrong).</summary>
internal sealed class WireWriter
{
    private readonly List<byte> _bytes = [];

    public int Length => _bytes.Count;

    public WireWriter U32(uint v) { Span<byte> b = stackalloc byte[4]; BinaryPrimitives.WriteUInt32LittleEndian(b, v); _bytes.AddRange(b); return this; }
    public WireWriter U64(ulong v) { Span<byte> b = stackalloc byte[8]; BinaryPrimitives.WriteUInt64LittleEndian(b, v); _bytes.AddRange(b); return this; }
    public WireWriter Raw(ReadOnlySpan<byte> bytes) { _bytes.AddRange(bytes); return this; }

    public byte[] ToArray() => [.. _bytes];
}
