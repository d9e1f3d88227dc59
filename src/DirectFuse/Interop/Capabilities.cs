namespace DirectFuse.Interop;

/// <summary>The process capabilities that decide whether it may mount directly and register FUSE backing files.</summary>
internal static class Capabilities
{
    private const int CapSysAdmin = 21;

    /// <summary>True if this process has CAP_SYS_ADMIN in its effective set (needed for passthrough backing files).</summary>
    public static bool HasSysAdmin()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/status"))
                if (line.StartsWith("CapEff:", StringComparison.Ordinal))
                    return (Convert.ToUInt64(line[7..].Trim(), 16) & (1UL << CapSysAdmin)) != 0;
        }
        catch (IOException)
        {
        }
        return false;
    }
}
