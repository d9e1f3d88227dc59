namespace DirectFuse.Transport;

/// <summary>libfuse-style mount options (the <c>-o</c> list).</summary>
public sealed record MountOptions
{
    /// <summary>The source shown in /proc/mounts.</summary>
    public string FsName { get; init; } = "directfuse";
    /// <summary>The file system type is shown as <c>fuse.SUBTYPE</c>.</summary>
    public string? Subtype { get; init; }
    /// <summary>Let users other than the mounting one access the mount (needs root or user_allow_other).</summary>
    public bool AllowOther { get; init; }
    /// <summary>Let the kernel check permissions from the file modes (no ACCESS requests are sent).</summary>
    public bool DefaultPermissions { get; init; }
    public bool ReadOnly { get; init; }
    public bool NoSuid { get; init; } = true;
    public bool NoDev { get; init; } = true;
    public bool NoExec { get; init; }
    public bool NoAtime { get; init; }
    /// <summary>Upper limit of a READ request in bytes.</summary>
    public uint? MaxRead { get; init; }
    /// <summary>Unmount when the server process dies (fusermount3 stays behind to do it).</summary>
    public bool AutoUnmount { get; init; }

    /// <summary>Parses a comma-separated <c>-o</c> list; unknown options are an error.</summary>
    public static MountOptions Parse(IEnumerable<string> lists, MountOptions? start = null)
    {
        var o = start ?? new MountOptions();
        foreach (var list in lists)
            foreach (var raw in list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                int eq = raw.IndexOf('=');
                string key = eq < 0 ? raw : raw[..eq];
                string? value = eq < 0 ? null : raw[(eq + 1)..];
                o = (key, value) switch
                {
                    ("fsname", { } v) => o with { FsName = v },
                    ("subtype", { } v) => o with { Subtype = v },
                    ("allow_other", null) => o with { AllowOther = true },
                    ("default_permissions", null) => o with { DefaultPermissions = true },
                    ("ro", null) => o with { ReadOnly = true },
                    ("rw", null) => o with { ReadOnly = false },
                    ("nosuid", null) => o with { NoSuid = true },
                    ("suid", null) => o with { NoSuid = false },
                    ("nodev", null) => o with { NoDev = true },
                    ("dev", null) => o with { NoDev = false },
                    ("noexec", null) => o with { NoExec = true },
                    ("exec", null) => o with { NoExec = false },
                    ("noatime", null) => o with { NoAtime = true },
                    ("auto_unmount", null) => o with { AutoUnmount = true },
                    ("max_read", { } v) when uint.TryParse(v, out uint n) && n > 0 => o with { MaxRead = n },
                    _ => throw new ArgumentException($"unknown or malformed mount option '{raw}'"),
                };
            }
        return o;
    }

    /// <summary>The option list as fusermount3 takes it.</summary>
    internal string ToFusermountOptions()
    {
        var parts = new List<string> { "fsname=" + FsName };
        if (Subtype is not null) parts.Add("subtype=" + Subtype);
        if (AllowOther) parts.Add("allow_other");
        if (DefaultPermissions) parts.Add("default_permissions");
        parts.Add(ReadOnly ? "ro" : "rw");
        parts.Add(NoSuid ? "nosuid" : "suid");
        parts.Add(NoDev ? "nodev" : "dev");
        if (NoExec) parts.Add("noexec");
        if (NoAtime) parts.Add("noatime");
        if (MaxRead is { } m) parts.Add("max_read=" + m);
        if (AutoUnmount) parts.Add("auto_unmount");
        return string.Join(',', parts);
    }

    internal ulong MountFlags
    {
        get
        {
            ulong f = 0;
            if (ReadOnly) f |= Interop.Libc.MS_RDONLY;
            if (NoSuid) f |= Interop.Libc.MS_NOSUID;
            if (NoDev) f |= Interop.Libc.MS_NODEV;
            if (NoExec) f |= Interop.Libc.MS_NOEXEC;
            if (NoAtime) f |= Interop.Libc.MS_NOATIME;
            return f;
        }
    }

    /// <summary>The data string of mount(2) for file system type "fuse".</summary>
    internal string ToKernelData(int fd, uint rootMode, uint uid, uint gid)
    {
        var parts = new List<string> { $"fd={fd}", "rootmode=" + Convert.ToString(rootMode, 8), $"user_id={uid}", $"group_id={gid}" };
        if (AllowOther) parts.Add("allow_other");
        if (DefaultPermissions) parts.Add("default_permissions");
        if (MaxRead is { } m) parts.Add("max_read=" + m);
        return string.Join(',', parts);
    }
}
