using System.Buffers;
using System.Globalization;
using System.Text;

namespace DirectFuse.Cli;

/// <summary>
/// Makes text from elsewhere (a server, a file name) safe to print: a terminal acts on control characters, so
/// an escape sequence in a share key could rewrite the screen or the window title, and bidi controls could
/// make text read differently from what it is.
/// </summary>
internal static class TerminalText
{
    /// <summary>Printable ASCII but the backslash: text made only of these is returned as it is.</summary>
    private static readonly SearchValues<char> PlainAscii =
        SearchValues.Create(" !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[]^_`abcdefghijklmnopqrstuvwxyz{|}~");

    /// <summary>
    /// <paramref name="text"/> with C0 and C1 controls, DEL, Unicode format characters (bidi controls, zero-width
    /// characters), line and paragraph separators and lone surrogates written as <c>\xHH</c> or <c>\u{HHHH}</c>,
    /// and a backslash as <c>\\</c> so that escapes cannot be forged either.
    /// </summary>
    public static string Escape(string text)
    {
        if (!text.AsSpan().ContainsAnyExcept(PlainAscii)) return text;
        var sb = new StringBuilder(text.Length + 16);
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                sb.Append(c).Append(text[++i]); // a whole astral character: printable as far as terminals go
                continue;
            }
            if (c == '\\') sb.Append(@"\\");
            else if (!NeedsEscape(c)) sb.Append(c);
            else if (c <= 0xff) sb.Append(CultureInfo.InvariantCulture, $"\\x{(int)c:x2}");
            else sb.Append(CultureInfo.InvariantCulture, $"\\u{{{(int)c:x4}}}");
        }
        return sb.ToString();
    }

    private static bool NeedsEscape(char c) => char.IsControl(c) || CharUnicodeInfo.GetUnicodeCategory(c) is
        UnicodeCategory.Format or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator or UnicodeCategory.Surrogate;
}
