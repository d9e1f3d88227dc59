using System.Runtime.InteropServices;
using System.Text;
using DirectFuse.Protocol;

namespace DirectFuse.LowLevel;

/// <summary>
/// The reply buffer of READDIR/READDIRPLUS. A handler adds entries from the requested offset on until
/// <see cref="TryAdd(ReadOnlySpan{byte}, ulong, uint, long)"/> returns false (full); each entry's
/// <c>nextOffset</c> is the offset the kernel passes back to continue after it. With <see cref="IsPlus"/> the
/// entries carry attributes and each one with a non-zero node id counts as a lookup (except "." and "..").
/// </summary>
public sealed class DirectoryBuffer
{
    private Memory<byte> _buffer;
    private int _used;

    internal void Reset(Memory<byte> buffer, bool plus)
    {
        _buffer = buffer;
        _used = 0;
        Count = 0;
        IsPlus = plus;
    }

    public bool IsPlus { get; private set; }
    public int Count { get; private set; }
    internal int Length => _used;

    /// <summary>Adds a plain entry (READDIR). In plus mode this adds an entry with no attributes.</summary>
    public bool TryAdd(ReadOnlySpan<byte> name, ulong ino, uint mode, long nextOffset)
    {
        CheckName(name.Length);
        if (IsPlus)
        {
            var entry = new EntryReply { NodeId = new NodeId(0), Attr = new FileAttr { Ino = ino, Mode = mode } };
            return TryAddPlus(name, entry, nextOffset);
        }
        int size = Align(FuseDirent.Size + name.Length);
        if (_used + size > _buffer.Length) return false;
        Span<byte> dst = _buffer.Span.Slice(_used, size);
        WriteDirent(dst, name, ino, mode, nextOffset);
        _used += size;
        Count++;
        return true;
    }

    public bool TryAdd(string name, ulong ino, uint mode, long nextOffset)
    {
        CheckName(name.Length);
        Span<byte> utf8 = stackalloc byte[Encoding.UTF8.GetMaxByteCount(name.Length)];
        int n = Encoding.UTF8.GetBytes(name, utf8);
        return TryAdd(utf8[..n], ino, mode, nextOffset);
    }

    /// <summary>Adds an entry with attributes (READDIRPLUS); a non-zero node id takes a lookup reference.</summary>
    public bool TryAddPlus(ReadOnlySpan<byte> name, in EntryReply entry, long nextOffset)
    {
        CheckName(name.Length);
        if (!IsPlus) return TryAdd(name, entry.Attr.Ino, entry.Attr.Mode, nextOffset);
        int size = Align(FuseEntryOut.Size + FuseDirent.Size + name.Length);
        if (_used + size > _buffer.Length) return false;
        Span<byte> dst = _buffer.Span.Slice(_used, size);
        FuseEntryOut e = default;
        entry.WriteTo(ref e);
        MemoryMarshal.Write(dst, in e);
        WriteDirent(dst[FuseEntryOut.Size..], name, entry.Attr.Ino, entry.Attr.Mode, nextOffset);
        _used += size;
        Count++;
        return true;
    }

    public bool TryAddPlus(string name, in EntryReply entry, long nextOffset)
    {
        CheckName(name.Length);
        Span<byte> utf8 = stackalloc byte[Encoding.UTF8.GetMaxByteCount(name.Length)];
        int n = Encoding.UTF8.GetBytes(name, utf8);
        return TryAddPlus(utf8[..n], entry, nextOffset);
    }

    private static void WriteDirent(Span<byte> dst, ReadOnlySpan<byte> name, ulong ino, uint mode, long nextOffset)
    {
        var d = new FuseDirent { Ino = ino, Off = (ulong)nextOffset, NameLen = (uint)name.Length, Type = StatMode.ToDirentType(mode) };
        MemoryMarshal.Write(dst, in d);
        name.CopyTo(dst[FuseDirent.Size..]);
        dst[(FuseDirent.Size + name.Length)..].Clear();
    }

    /// <summary>FUSE_NAME_MAX: the kernel rejects a whole listing (EIO) that holds a longer name.</summary>
    public const int NameMax = 1024;

    private static void CheckName(int length)
    {
        if (length == 0 || length > NameMax)
            throw new ArgumentException($"a directory entry name must be 1 to {NameMax} bytes long, not {length}");
    }

    private static int Align(int size) => (size + 7) & ~7;
}
