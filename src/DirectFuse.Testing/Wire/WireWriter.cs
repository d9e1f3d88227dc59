using System.Buffers.Binary;
using System.Text;

namespace DirectFuse.Testing.Wire;

/// <summary>Little-endian builder for request arguments, laid out as the kernel's fuse.h structs.</summary>
internal sealed class WireWriter
{
    private byte[] _bytes = new byte[64];
    private int _length;

    public int Length => _length;

    private Span<byte> Take(int count)
    {
        if (_length + count > _bytes.Length) Array.Resize(ref _bytes, Math.Max(_bytes.Length * 2, _length + count));
        var span = _bytes.AsSpan(_length, count);
        _length += count;
        return span;
    }

    public WireWriter U32(uint value) { BinaryPrimitives.WriteUInt32LittleEndian(Take(4), value); return this; }
    public WireWriter U64(ulong value) { BinaryPrimitives.WriteUInt64LittleEndian(Take(8), value); return this; }
    public WireWriter Zeros(int count) { Take(count).Clear(); return this; }
    public WireWriter Bytes(ReadOnlySpan<byte> bytes) { bytes.CopyTo(Take(bytes.Length)); return this; }

    /// <summary>A name as the kernel sends it: UTF-8, zero-terminated.</summary>
    public WireWriter Name(string name)
    {
        var span = Take(Encoding.UTF8.GetByteCount(name) + 1);
        int n = Encoding.UTF8.GetBytes(name, span);
        span[n] = 0;
        return this;
    }

    public byte[] ToArray() => _bytes.AsSpan(0, _length).ToArray();
}
