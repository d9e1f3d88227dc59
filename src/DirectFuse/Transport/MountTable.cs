namespace DirectFuse.Transport;

/// <summary>Reads /proc/self/mountinfo, so the server never has to stat its own mount point.</summary>
internal static class MountTable
{
    /// <summary>The device minor (= FUSE connection number) of the topmost mount at <paramref name="mountPoint"/>, or null.</summary>
    public static uint? FindDeviceMinor(string mountPoint, string? fsTypePrefix = null)
    {
        uint? found = null;
        foreach (var line in SafeReadLines("/proc/self/mountinfo"))
        {
            // id parent major:minor root mountpoint options [optional...] - fstype source superopts
            var fields = line.Split(' ');
            if (fields.Length < 10 || Unescape(fields[4]) != mountPoint) continue;
            int dash = Array.IndexOf(fields, "-");
            if (fsTypePrefix is not null && (dash < 0 || dash + 1 >= fields.Length || !fields[dash + 1].StartsWith(fsTypePrefix, StringComparison.Ordinal))) continue;
            var devParts = fields[2].Split(':');
            if (devParts.Length == 2 && uint.TryParse(devParts[1], out uint minor)) found = minor;
        }
        return found;
    }

    public static bool IsMountPoint(string path) => FindDeviceMinor(path) is not null;

    private static IEnumerable<string> SafeReadLines(string path)
    {
        try
        {
            return File.ReadAllLines(path);
        }
        catch (IOException)
        {
            return [];
        }
    }

    /// <summary>mountinfo escapes space, tab, newline and backslash as \ooo.</summary>
    private static string Unescape(string s)
    {
        if (!s.Contains('\\')) return s;
        var sb = new System.Text.StringBuilder();
        for (int i = 0; i < s.Length; i++)
        {
            if (s[i] == '\\' && IsOctal(s, i + 1))
            {
                sb.Append((char)Convert.ToInt32(s.Substring(i + 1, 3), 8));
                i += 3;
            }
            else sb.Append(s[i]);
        }
        return sb.ToString();
    }

    private static bool IsOctal(string s, int at) =>
        at + 3 <= s.Length && s[at] is >= '0' and <= '7' && s[at + 1] is >= '0' and <= '7' && s[at + 2] is >= '0' and <= '7';
}
