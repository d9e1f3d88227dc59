namespace DirectFuse.Examples.Loopback;

/// <summary>The running kernel's release (uname -r), for behaviour that depends on a kernel version.</summary>
internal static class KernelRelease
{
    private static readonly (int Major, int Minor) Current = Parse(ReadRelease());

    /// <summary>True when the running kernel is <paramref name="major"/>.<paramref name="minor"/> or newer.</summary>
    public static bool AtLeast(int major, int minor) => Current.Major > major || (Current.Major == major && Current.Minor >= minor);

    private static string ReadRelease()
    {
        try
        {
            return File.ReadAllText("/proc/sys/kernel/osrelease").Trim();
        }
        catch (IOException)
        {
            return "";
        }
    }

    /// <summary>"6.1.0-47-amd64" → (6, 1); anything unreadable counts as (0, 0), the oldest.</summary>
    internal static (int, int) Parse(string release)
    {
        var parts = release.Split('.', 3);
        return parts.Length >= 2 && int.TryParse(parts[0], out int major) && int.TryParse(new string(parts[1].TakeWhile(char.IsAsciiDigit).ToArray()), out int minor)
            ? (major, minor)
            : (0, 0);
    }
}
