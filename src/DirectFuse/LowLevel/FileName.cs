using System.Text;

namespace DirectFuse.LowLevel;

/// <summary>
/// A name from a request, as the kernel sent it (bytes, no terminating zero). It points into the request
/// buffer and is valid until the handler's task completes; call <see cref="ToString"/> to keep it.
/// </summary>
public readonly struct FileName
{
    /// <summary>A name over <paramref name="utf8"/> (no terminating zero), without copying it.</summary>
    public FileName(ReadOnlyMemory<byte> utf8) => Utf8 = utf8;

    /// <summary>
    /// The name's bytes as the kernel sent them (normally UTF-8, but any bytes but '/' and NUL are possible).
    /// </summary>
    public ReadOnlyMemory<byte> Utf8 { get; }
    /// <summary>The name's bytes as a span.</summary>
    public ReadOnlySpan<byte> Span => Utf8.Span;
    /// <summary>The name's length in bytes.</summary>
    public int Length => Utf8.Length;

    /// <summary>True for ".".</summary>
    public bool IsDot => Utf8.Length == 1 && Utf8.Span[0] == (byte)'.';
    /// <summary>True for "..".</summary>
    public bool IsDotDot => Utf8.Length == 2 && Utf8.Span[0] == (byte)'.' && Utf8.Span[1] == (byte)'.';

    /// <summary>Decodes the name into <paramref name="destination"/> without allocating; returns the char count.</summary>
    public int GetChars(Span<char> destination) => Encoding.UTF8.GetChars(Utf8.Span, destination);

    /// <summary>
    /// True when the name is <paramref name="other"/> encoded as UTF-8; allocates only when the lengths match.
    /// </summary>
    public bool Equals(string other) => Encoding.UTF8.GetByteCount(other) == Utf8.Length && ToString() == other;

    private static readonly UTF8Encoding s_strict = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>
    /// The name as a string, exactly: a name that is not valid UTF-8 throws <see cref="DecoderFallbackException"/>
    /// (an <see cref="ArgumentException"/>, answered EINVAL), so two different byte names can never become one key.
    /// </summary>
    public string Text => s_strict.GetString(Utf8.Span);

    /// <summary>For display: invalid UTF-8 becomes U+FFFD, so different names may print alike (use <see cref="Text"/> as a key).</summary>
    public override string ToString() => Encoding.UTF8.GetString(Utf8.Span);

    /// <summary>
    /// A name holding <paramref name="name"/> encoded as UTF-8 (allocates; for tests and callers outside a request).
    /// </summary>
    public static FileName FromString(string name) => new(Encoding.UTF8.GetBytes(name));

    /// <summary>NAME_MAX: the longest directory entry name Linux accepts, in bytes.</summary>
    public const int MaxLength = 255;

    /// <summary>
    /// Why <paramref name="name"/> cannot be one directory entry, or <see cref="Errno.Ok"/>: ENAMETOOLONG over
    /// <see cref="MaxLength"/> bytes; EINVAL when empty, containing '/' (it would reach another directory), or,
    /// unless <paramref name="allowDots"/>, "." or ".." (never a name that is created, removed or renamed).
    /// </summary>
    internal static Errno Check(ReadOnlySpan<byte> name, bool allowDots)
    {
        if (name.Length > MaxLength) return Errno.ENAMETOOLONG;
        if (name.IsEmpty || name.Contains((byte)'/')) return Errno.EINVAL;
        if (!allowDots && (name.SequenceEqual("."u8) || name.SequenceEqual(".."u8))) return Errno.EINVAL;
        return Errno.Ok;
    }
}
