namespace DirectFuse.LowLevel;

/// <summary>
/// The supplementary groups of a calling thread, from the <c>Groups:</c> line of <c>/proc/TID/status</c>. The
/// request header carries only the effective uid and gid; the thread is blocked in its system call while its
/// request is served, so its id cannot be reused under us.
/// </summary>
internal static class CallerGroups
{
    // The Groups line comes within the first ~1 KiB; NGROUPS_MAX (65536) ids would not fit any buffer, and a
    // line cut short only loses groups (a refusal, never a wrong grant).
    private const int ReadSize = 8192;

    public static bool Contains(uint tid, uint gid)
    {
        if (tid == 0) return false;
        byte[] buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(ReadSize);
        try
        {
            // Unreadable (the caller is gone, or hidden from us): no supplementary groups.
            return Interop.ProcFile.TryReadStart(tid, "/status"u8, buffer.AsSpan(0, ReadSize), out int length)
                && ListContains(buffer.AsSpan(0, length), gid);
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Finds <paramref name="gid"/> in the "Groups:\t1 2 3 \n" line of a status file.</summary>
    internal static bool ListContains(ReadOnlySpan<byte> status, uint gid)
    {
        ReadOnlySpan<byte> key = "\nGroups:"u8;
        int at = status.IndexOf(key);
        if (at < 0) return false;
        var rest = status[(at + key.Length)..];
        int end = rest.IndexOf((byte)'\n');
        if (end < 0) return false; // cut short: trust no partial number
        rest = rest[..end];
        while (!rest.IsEmpty)
        {
            int skip = 0;
            while (skip < rest.Length && rest[skip] is (byte)' ' or (byte)'\t') skip++;
            rest = rest[skip..];
            int digits = 0;
            ulong value = 0;
            while (digits < rest.Length && rest[digits] is >= (byte)'0' and <= (byte)'9')
            {
                value = value * 10 + (ulong)(rest[digits++] - '0');
                if (value > uint.MaxValue) return false; // not a gid: the line is not what we think it is
            }
            if (digits == 0) return false;
            if (value == gid) return true;
            rest = rest[digits..];
        }
        return false;
    }
}
