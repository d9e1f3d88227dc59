namespace DirectFuse.Cli.Commands;

/// <summary>Sizes as users type them: 4096, 64K, 16M, 1G (powers of 1024).</summary>
internal static class ByteSize
{
    public static long Parse(string text)
    {
        text = text.Trim();
        if (text.Length == 0) throw new FormatException("empty size");
        long multiplier = char.ToUpperInvariant(text[^1]) switch
        {
            'K' => 1L << 10,
            'M' => 1L << 20,
            'G' => 1L << 30,
            'T' => 1L << 40,
            _ => 1,
        };
        string digits = multiplier == 1 ? text : text[..^1];
        if (!long.TryParse(digits, out long value) || value <= 0 || value > long.MaxValue / multiplier)
            throw new FormatException($"'{text}' is not a size (like 4096, 64K, 16M, 1G)");
        return value * multiplier;
    }

    public static string Format(long bytes) => bytes switch
    {
        >= 1L << 30 when bytes % (1L << 30) == 0 => $"{bytes >> 30}G",
        >= 1L << 20 when bytes % (1L << 20) == 0 => $"{bytes >> 20}M",
        >= 1L << 10 when bytes % (1L << 10) == 0 => $"{bytes >> 10}K",
        _ => bytes.ToString(),
    };
}
