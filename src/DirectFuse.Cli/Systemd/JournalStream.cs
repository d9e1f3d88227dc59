using System.Globalization;
using DirectFuse.Cli.Interop;

namespace DirectFuse.Cli.Systemd;

/// <summary>
/// Whether an output stream is connected to systemd's journal: systemd sets <c>JOURNAL_STREAM=DEVICE:INODE</c>
/// for the stream it connects, and a program whose descriptor still is that stream (not redirected elsewhere
/// since) should write journald-friendly lines (sd-daemon(3)).
/// </summary>
internal static class JournalStream
{
    public const string Variable = "JOURNAL_STREAM";

    /// <summary>True when <paramref name="fd"/> is the stream <c>JOURNAL_STREAM</c> names.</summary>
    public static bool Is(int fd)
    {
        if (Parse(Environment.GetEnvironmentVariable(Variable)) is not { } journal) return false;
        return Native.DeviceAndInode(fd) is { } actual && actual == journal;
    }

    /// <summary><c>DEVICE:INODE</c>, both decimal, as systemd writes it; null if malformed.</summary>
    public static (ulong Device, ulong Inode)? Parse(string? value)
    {
        if (value is null || value.Split(':') is not [var device, var inode]) return null;
        return ulong.TryParse(device, NumberStyles.None, CultureInfo.InvariantCulture, out ulong d)
            && ulong.TryParse(inode, NumberStyles.None, CultureInfo.InvariantCulture, out ulong i) ? (d, i) : null;
    }
}
