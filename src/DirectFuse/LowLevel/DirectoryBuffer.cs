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

    /// <summary>
    /// True for READDIRPLUS: entries carry attributes and count as lookups
    /// (<see cref="TryAddPlus(string, in EntryReply, long)"/>).
    /// </summary>
    public bool IsPlus { get; private set; }
    /// <summary>Entries added so far in this reply.</summary>
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

    /// <summary>Adds a plain entry named <paramref name="name"/> (encoded as UTF-8); false, and nothing added, when the
    /// reply is full.</summary>
    /// <param name="name">The entry's name: not empty, no '/', at most 255 bytes.</param>
    /// <param name="ino">The inode number readdir(3) shows (d_ino).</param>
    /// <param name="mode">The file type bits (<see cref="StatMode"/>), for d_type.</param>
    /// <param name="nextOffset">The offset the kernel passes back to continue after this entry.</param>
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

    /// <summary>Adds a READDIRPLUS entry with its node and attributes; false, and nothing added, when the reply is
    /// full. A non-zero node id counts as a lookup of the node, as a LOOKUP reply would (except for "." and
    /// "..").</summary>
    /// <param name="name">The entry's name: not empty, no '/', at most 255 bytes.</param>
    /// <param name="entry">The node, attributes and cache timeouts, as for LOOKUP; node id 0 sends the name without
    /// caching anything.</param>
    /// <param name="nextOffset">The offset the kernel passes back to continue after this entry.</param>
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
