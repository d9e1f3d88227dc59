using System.Buffers;
using System.Runtime.InteropServices;

namespace DirectFuse.Session.Uring;

/// <summary>
/// Page-aligned native memory that never moves, exposed as <see cref="Memory{T}"/> so the dispatcher can serve
/// requests and build replies in it as in managed buffers. The kernel keeps its address from registration to
/// the end of the ring, so it is freed explicitly, never by a finaliser.
/// </summary>
internal sealed unsafe class NativeBuffer : MemoryManager<byte>
{
    private byte* _pointer;
    private readonly int _length;

    public NativeBuffer(int length)
    {
        _length = length;
        _pointer = (byte*)NativeMemory.AlignedAlloc((nuint)length, (nuint)Environment.SystemPageSize);
    }

    /// <summary>The start of the buffer (null once freed).</summary>
    public byte* Pointer => _pointer;

    /// <summary>Its length in bytes.</summary>
    public int Length => _length;

    public override Span<byte> GetSpan() => _pointer is null ? throw new ObjectDisposedException(nameof(NativeBuffer)) : new(_pointer, _length);

    public override MemoryHandle Pin(int elementIndex = 0) => new(_pointer + elementIndex);

    public override void Unpin()
    {
    }

    /// <summary>Frees the memory: only once the kernel no longer holds its address and no handler uses it.</summary>
    public void Free()
    {
        byte* p = _pointer;
        _pointer = null;
        if (p is not null) NativeMemory.AlignedFree(p);
    }

    protected override void Dispose(bool disposing) => Free();
}
