using System.Text;
using DirectFuse.LowLevel;

namespace DirectFuse.Examples.MemFs;

/// <summary>
/// File and attribute names as dictionary keys. Linux names are arbitrary bytes, not necessarily UTF-8: decoding
/// them as UTF-8 would turn different invalid sequences into the same U+FFFD string (two files, one key) and
/// readdir could not give the original bytes back. Latin-1 maps every byte to exactly one char and back, so the
/// key is lossless and decoding into a stack buffer allocates nothing.
/// </summary>
internal static class Names
{
    /// <summary>NAME_MAX, as statfs reports it.</summary>
    public const int NameMax = 255;

    public static ReadOnlySpan<char> Decode(in FileName name, Span<char> buffer) =>
        buffer[..Encoding.Latin1.GetChars(name.Span, buffer)];

    public static byte[] ToBytes(ReadOnlySpan<char> key)
    {
        var bytes = new byte[key.Length];
        Encoding.Latin1.GetBytes(key, bytes);
        return bytes;
    }
}
