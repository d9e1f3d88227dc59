using System.Buffers.Text;
using DirectFuse.Interop;

namespace DirectFuse.DirectMmap;

/// <summary>
/// The two /proc facts a process identity needs, read into stack buffers and parsed without strings: it runs
/// for every LOOKUP and OPEN under a per-process policy.
/// </summary>
internal static class ProcFiles
{
    // The Tgid line is the fourth of status, after Name (a comm of at most 64 bytes, escaped: 128 at most), Umask and State.
    private const int StatusPrefix = 256;
    // stat up to field 22 and a little past: the pid, a comm of at most 64 bytes, then 20 numbers of up to 20 digits.
    private const int StatPrefix = 1024;
    private const int StartTimeField = 22;

    /// <summary>The thread group (process) of thread <paramref name="tid"/>, from the Tgid line of /proc/TID/status.</summary>
    public static bool TryReadThreadGroup(uint tid, out uint tgid)
    {
        Span<byte> buffer = stackalloc byte[StatusPrefix];
        tgid = 0;
        return ProcFile.TryReadStart(tid, "/status"u8, buffer, out int length) && TryParseThreadGroup(buffer[..length], out tgid);
    }

    /// <summary>When process <paramref name="pid"/> started, in clock ticks since boot: field 22 of /proc/PID/stat.</summary>
    public static bool TryReadStartTime(uint pid, out ulong startTime)
    {
        Span<byte> buffer = stackalloc byte[StatPrefix];
        startTime = 0;
        return ProcFile.TryReadStart(pid, "/stat"u8, buffer, out int length) && TryParseStartTime(buffer[..length], out startTime);
    }

    public static bool TryParseThreadGroup(ReadOnlySpan<byte> status, out uint tgid)
    {
        tgid = 0;
        // A comm cannot fake this line: status escapes the newlines in Name.
        int at = status.IndexOf("\nTgid:"u8);
        if (at < 0) return false;
        var value = status[(at + "\nTgid:"u8.Length)..].TrimStart("\t "u8);
        return Utf8Parser.TryParse(value, out tgid, out int digits) && digits < value.Length && value[digits] == (byte)'\n';
    }

    public static bool TryParseStartTime(ReadOnlySpan<byte> stat, out ulong startTime)
    {
        startTime = 0;
        // Field 2, the comm, is in parentheses and may itself hold spaces, digits and ')': the fields that follow
        // are numbers and one state letter, so the comm ends at the last ')'.
        int commEnd = stat.LastIndexOf((byte)')');
        if (commEnd < 0) return false;
        var fields = stat[(commEnd + 1)..]; // " S ppid ...": each following field is preceded by one space
        for (int field = 3; field <= StartTimeField; field++)
        {
            if (fields.IsEmpty || fields[0] != (byte)' ') return false;
            fields = fields[1..];
            if (field == StartTimeField) break;
            int space = fields.IndexOf((byte)' ');
            if (space < 0) return false;
            fields = fields[space..];
        }
        // More fields follow starttime: a number that runs to the buffer's end may have been cut short.
        return Utf8Parser.TryParse(fields, out startTime, out int digits) && digits < fields.Length && fields[digits] == (byte)' ';
    }
}
