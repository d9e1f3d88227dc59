namespace DirectFuse.Interop;

/// <summary>
/// Reads the start of a file of a process's /proc directory without strings or handles: the server reads them
/// per request (the caller's groups, its process), and a file of a process that is gone is simply not there.
/// </summary>
internal static class ProcFile
{
    /// <summary>Reads the start of /proc/<paramref name="pid"/><paramref name="file"/> into <paramref name="buffer"/>.</summary>
    public static unsafe bool TryReadStart(uint pid, ReadOnlySpan<byte> file, Span<byte> buffer, out int length)
    {
        length = 0;
        Span<byte> path = stackalloc byte[32];
        "/proc/"u8.CopyTo(path);
        if (!pid.TryFormat(path[6..], out int digits)) return false;
        int end = 6 + digits;
        file.CopyTo(path[end..]);
        path[end + file.Length] = 0;
        int fd;
        fixed (byte* p = path) fd = Libc.open(p, Libc.O_RDONLY | Libc.O_CLOEXEC, 0);
        if (fd < 0) return false; // no such process (any more), or hidden from us (hidepid)
        try
        {
            fixed (byte* b = buffer)
                while (length < buffer.Length)
                {
                    nint n = Libc.read(fd, b + length, buffer.Length - length);
                    if (n < 0) return false; // ESRCH: it ended between open and read
                    if (n == 0) break;
                    length += (int)n;
                }
            return true;
        }
        finally
        {
            Libc.close(fd);
        }
    }
}
