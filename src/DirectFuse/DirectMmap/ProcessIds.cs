namespace DirectFuse.DirectMmap;

/// <summary>
/// The pid in a FUSE request header is the calling <em>thread's</em> id. A per-process policy needs the
/// process (thread group) it belongs to, which /proc tells.
/// </summary>
public static class ProcessIds
{
    /// <summary>The process id (Tgid) of thread <paramref name="tid"/>, or <paramref name="tid"/> itself if /proc no longer knows it.</summary>
    public static uint ProcessOf(uint tid)
    {
        if (tid == 0) return 0;
        try
        {
            foreach (var line in File.ReadLines($"/proc/{tid}/status"))
                if (line.StartsWith("Tgid:", StringComparison.Ordinal) && uint.TryParse(line.AsSpan(5).Trim(), out uint tgid))
                    return tgid;
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
        return tid;
    }
}
