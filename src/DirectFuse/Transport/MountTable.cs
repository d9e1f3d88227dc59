namespace DirectFuse.Transport;

/// <summary>Reads /proc/self/mountinfo, so the server never has to stat its own mount point.</summary>
internal static class MountTable
{
    /// <summary>The device minor (= FUSE connection number) of the topmost mount at <paramref name="mountPoint"/>, or null.</summary>
    public static uint? FindDeviceMinor(string mountPoint, string? fsTypePrefix = null)
    {
        var fields = FindTopmost(mountPoint, fsTypePrefix);
        return fields is not null && fields[2].Split(':') is [_, var minorText] && uint.TryParse(minorText, out uint minor) ? minor : null;
    }

    /// <summary>
    /// The numeric value of super option <paramref name="name"/> (like <c>user_id</c>) of the topmost mount at
    /// <paramref name="mountPoint"/>, or null if there is no such mount or option.
    /// </summary>
    public static uint? FindSuperOption(string mountPoint, string name, string? fsTypePrefix = null)
    {
        var fields = FindTopmost(mountPoint, fsTypePrefix);
        if (fields is null) return null;
        string prefix = name + "=";
        foreach (var option in fields[Array.IndexOf(fields, "-") + 3].Split(','))
            if (option.StartsWith(prefix, StringComparison.Ordinal) && uint.TryParse(option.AsSpan(prefix.Length), out uint value)) return value;
        return null;
    }

    /// <summary>The mountinfo fields of the topmost mount at <paramref name="mountPoint"/>; a returned line has a "-" separator and the three fields after it.</summary>
    private static string[]? FindTopmost(string mountPoint, string? fsTypePrefix)
    {
        string[]? found = null;
        foreach (var line in SafeReadLines("/proc/self/mountinfo"))
        {
            // id parent major:minor root mountpoint options [optional...] - fstype source superopts
            var fields = line.Split(' ');
            if (fields.Length < 10 || Unescape(fields[4]) != mountPoint) continue;
            int dash = Array.IndexOf(fields, "-");
            if (dash < 0 || dash + 3 >= fields.Length) continue;
            if (fsTypePrefix is not null && !fields[dash + 1].StartsWith(fsTypePrefix, StringComparison.Ordinal)) continue;
            found = fields; // later lines are mounted on top of earlier ones
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
