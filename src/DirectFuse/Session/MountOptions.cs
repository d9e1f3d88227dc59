using System.Text;

namespace DirectFuse.Session;

/// <summary>
/// libfuse-style mount options (the <c>-o</c> list): what reaches mount(2), as flags or in its data string, or
/// fusermount3. Options that only a server acts on (threads, debug) or that only fstab and mount(8) use are the
/// caller's to handle; <see cref="Parse"/> refuses every name it does not know.
/// </summary>
public sealed record MountOptions
{
    /// <summary>The source shown in /proc/mounts.</summary>
    public string FsName { get; init; } = "directfuse";
    /// <summary>The file system type is shown as <c>fuse.SUBTYPE</c>.</summary>
    public string? Subtype { get; init; }
    /// <summary>Let users other than the mounting one access the mount (needs root or user_allow_other).</summary>
    public bool AllowOther { get; init; }
    /// <summary>
    /// Like <see cref="AllowOther"/> for the kernel, but the session refuses (EACCES) requests of every user other
    /// than the mount's owner and root, as libfuse's allow_root does. Mutually exclusive with <see cref="AllowOther"/>.
    /// </summary>
    public bool AllowRoot { get; init; }
    /// <summary>Let the kernel check permissions from the file modes (no ACCESS requests are sent).</summary>
    public bool DefaultPermissions { get; init; }
    /// <summary>MS_RDONLY: the kernel refuses every write (EROFS).</summary>
    public bool ReadOnly { get; init; }
    /// <summary>MS_NOSUID (the default, as in libfuse): set-user-ID and set-group-ID bits do nothing on exec.</summary>
    public bool NoSuid { get; init; } = true;
    /// <summary>MS_NODEV (the default, as in libfuse): device nodes on the mount cannot be opened.</summary>
    public bool NoDev { get; init; } = true;
    /// <summary>MS_NOEXEC: nothing on the mount can be executed.</summary>
    public bool NoExec { get; init; }
    /// <summary>MS_NOATIME: access times are never updated.</summary>
    public bool NoAtime { get; init; }
    /// <summary>MS_NODIRATIME: directory access times are never updated.</summary>
    public bool NoDirAtime { get; init; }
    /// <summary>MS_RELATIME (the kernel's default unless noatime or strictatime).</summary>
    public bool RelAtime { get; init; }
    /// <summary>MS_STRICTATIME: every access updates the access time.</summary>
    public bool StrictAtime { get; init; }
    /// <summary>MS_LAZYTIME: timestamp updates are kept in memory until the inode is written anyway.</summary>
    public bool LazyTime { get; init; }
    /// <summary>MS_SYNCHRONOUS (<c>sync</c>): writes are flushed (FSYNC) before write(2) returns.</summary>
    public bool Synchronous { get; init; }
    /// <summary>MS_DIRSYNC: directory changes are synchronous.</summary>
    public bool DirSync { get; init; }
    /// <summary>Upper limit of a READ request in bytes (null: no limit beyond the kernel's own).</summary>
    public uint? MaxRead { get; init; }
    /// <summary>Unmount when the server process dies (fusermount3 stays behind to do it).</summary>
    public bool AutoUnmount { get; init; }
    /// <summary>SELinux <c>context=</c>, passed to the kernel (which refuses it without an LSM that knows it).</summary>
    public string? Context { get; init; }
    /// <summary>SELinux <c>fscontext=</c>, passed to the kernel.</summary>
    public string? FsContext { get; init; }
    /// <summary>SELinux <c>defcontext=</c>, passed to the kernel.</summary>
    public string? DefContext { get; init; }
    /// <summary>SELinux <c>rootcontext=</c>, passed to the kernel.</summary>
    public string? RootContext { get; init; }

    /// <summary>True when any of the SELinux context options is set.</summary>
    public bool HasSecurityContext => Context is not null || FsContext is not null || DefContext is not null || RootContext is not null;

    /// <summary>
    /// Parses comma-separated <c>-o</c> lists (a backslash escapes the next character, so <c>fsname=a\,b</c> is one
    /// option); unknown options, malformed values and contradictions throw <see cref="ArgumentException"/> with a
    /// one-line message.
    /// </summary>
    public static MountOptions Parse(IEnumerable<string> lists, MountOptions? start = null)
    {
        var o = start ?? new MountOptions();
        foreach (var list in lists)
            foreach (var raw in Split(list))
                o = o.With(Unescape(raw));
        return o.Checked();
    }

    /// <summary>
    /// Splits one <c>-o</c> list at the commas that are not escaped by a backslash. The items keep their escapes
    /// (<see cref="Unescape"/> removes them), so that joining them with commas again gives an equivalent list.
    /// Empty items are dropped, as libfuse and mount(8) do.
    /// </summary>
    public static IReadOnlyList<string> Split(string list)
    {
        var items = new List<string>();
        var item = new StringBuilder();
        for (int i = 0; i < list.Length; i++)
        {
            char c = list[i];
            if (c == ',')
            {
                Add();
                continue;
            }
            item.Append(c);
            if (c == '\\' && i + 1 < list.Length) item.Append(list[++i]);
        }
        Add();
        return items;

        void Add()
        {
            string text = item.ToString().Trim();
            if (text.Length > 0) items.Add(text);
            item.Clear();
        }
    }

    /// <summary>One item of <see cref="Split"/> without its escapes.</summary>
    public static string Unescape(string item)
    {
        if (!item.Contains('\\')) return item;
        var sb = new StringBuilder(item.Length);
        for (int i = 0; i < item.Length; i++)
        {
            if (item[i] == '\\' && i + 1 < item.Length) i++;
            sb.Append(item[i]);
        }
        return sb.ToString();
    }

    /// <summary>An option value written so that <see cref="Split"/> keeps it whole (commas and backslashes escaped).</summary>
    public static string Escape(string value) => value.Replace("\\", "\\\\").Replace(",", "\\,");

    /// <summary>
    /// This set with one more option applied (<c>name</c> or <c>name=value</c>, unescaped). Throws
    /// <see cref="ArgumentException"/> for an unknown option or a malformed value. Contradictions between options
    /// (allow_other with allow_root) are only checked by <see cref="Parse"/>.
    /// </summary>
    public MountOptions With(string option)
    {
        int eq = option.IndexOf('=');
        string key = eq < 0 ? option : option[..eq];
        string? value = eq < 0 ? null : option[(eq + 1)..];
        return (key, value) switch
        {
            ("fsname", { Length: > 0 } v) => this with { FsName = v },
            ("subtype", { Length: > 0 } v) => this with { Subtype = v },
            ("allow_other", null) => this with { AllowOther = true },
            ("allow_root", null) => this with { AllowRoot = true },
            ("default_permissions", null) => this with { DefaultPermissions = true },
            ("ro", null) => this with { ReadOnly = true },
            ("rw", null) => this with { ReadOnly = false },
            ("nosuid", null) => this with { NoSuid = true },
            ("suid", null) => this with { NoSuid = false },
            ("nodev", null) => this with { NoDev = true },
            ("dev", null) => this with { NoDev = false },
            ("noexec", null) => this with { NoExec = true },
            ("exec", null) => this with { NoExec = false },
            ("noatime", null) => this with { NoAtime = true },
            ("atime", null) => this with { NoAtime = false },
            ("nodiratime", null) => this with { NoDirAtime = true },
            ("diratime", null) => this with { NoDirAtime = false },
            ("relatime", null) => this with { RelAtime = true },
            ("norelatime", null) => this with { RelAtime = false },
            ("strictatime", null) => this with { StrictAtime = true },
            ("nostrictatime", null) => this with { StrictAtime = false },
            ("lazytime", null) => this with { LazyTime = true },
            ("nolazytime", null) => this with { LazyTime = false },
            ("sync", null) => this with { Synchronous = true },
            ("async", null) => this with { Synchronous = false },
            ("dirsync", null) => this with { DirSync = true },
            ("auto_unmount", null) => this with { AutoUnmount = true },
            // libfuse: 0 means no limit.
            ("max_read", { } v) when uint.TryParse(v, out uint n) => this with { MaxRead = n == 0 ? null : n },
            ("context", { Length: > 0 } v) => this with { Context = v },
            ("fscontext", { Length: > 0 } v) => this with { FsContext = v },
            ("defcontext", { Length: > 0 } v) => this with { DefContext = v },
            ("rootcontext", { Length: > 0 } v) => this with { RootContext = v },
            ("blksize", _) => throw new ArgumentException("mount option 'blksize' is only valid for fuseblk mounts (block-device file systems); directfuse mounts type fuse"),
            ("blkdev", _) => throw new ArgumentException("mount option 'blkdev' (a fuseblk mount of a block device) is not supported: directfuse serves no block devices"),
            ("fd" or "rootmode" or "user_id" or "group_id", _) =>
                throw new ArgumentException($"mount option '{key}' is set by directfuse itself when it mounts (to serve a /dev/fuse that is already mounted, give /dev/fd/N as the mount point)"),
            _ => throw new ArgumentException($"unknown or malformed mount option '{option}'"),
        };
    }

    /// <summary>This set, or an <see cref="ArgumentException"/> for options that contradict each other.</summary>
    public MountOptions Checked() =>
        AllowOther && AllowRoot ? throw new ArgumentException("mount options 'allow_other' and 'allow_root' are mutually exclusive") : this;

    /// <summary>The option list as fusermount3 takes it, for a process with real uid <paramref name="uid"/>.</summary>
    internal string ToFusermountOptions(uint uid)
    {
        var parts = new List<string> { "fsname=" + Escape(FsName) };
        if (Subtype is not null) parts.Add("subtype=" + Escape(Subtype));
        // fusermount3 knows no allow_root: libfuse asks it for allow_other and refuses other users itself, as the session does.
        if (AllowOther || AllowRoot) parts.Add("allow_other");
        if (DefaultPermissions) parts.Add("default_permissions");
        parts.Add(ReadOnly ? "ro" : "rw");
        // fusermount3 ignores suid and dev for other users than root, with a warning each: mount.fuse3 adds both to
        // every mount it starts, so a user's mount would always warn about options nobody asked for.
        if (NoSuid) parts.Add("nosuid");
        else if (uid == 0) parts.Add("suid");
        if (NoDev) parts.Add("nodev");
        else if (uid == 0) parts.Add("dev");
        if (NoExec) parts.Add("noexec");
        if (NoAtime) parts.Add("noatime");
        if (NoDirAtime) parts.Add("nodiratime");
        if (RelAtime) parts.Add("relatime");
        if (StrictAtime) parts.Add("strictatime");
        if (LazyTime) parts.Add("lazytime");
        if (Synchronous) parts.Add("sync");
        if (DirSync) parts.Add("dirsync");
        if (MaxRead is { } m) parts.Add("max_read=" + m);
        AddContexts(parts);
        if (AutoUnmount) parts.Add("auto_unmount");
        return string.Join(',', parts);
    }

    /// <summary>The flags argument of mount(2).</summary>
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
            if (NoDirAtime) f |= Interop.Libc.MS_NODIRATIME;
            if (RelAtime) f |= Interop.Libc.MS_RELATIME;
            if (StrictAtime) f |= Interop.Libc.MS_STRICTATIME;
            if (LazyTime) f |= Interop.Libc.MS_LAZYTIME;
            if (Synchronous) f |= Interop.Libc.MS_SYNCHRONOUS;
            if (DirSync) f |= Interop.Libc.MS_DIRSYNC;
            return f;
        }
    }

    /// <summary>The data string of mount(2) for file system type "fuse".</summary>
    internal string ToKernelData(int fd, uint rootMode, uint uid, uint gid)
    {
        var parts = new List<string> { $"fd={fd}", "rootmode=" + Convert.ToString(rootMode, 8), $"user_id={uid}", $"group_id={gid}" };
        if (AllowOther || AllowRoot) parts.Add("allow_other");
        if (DefaultPermissions) parts.Add("default_permissions");
        if (MaxRead is { } m) parts.Add("max_read=" + m);
        AddContexts(parts);
        return string.Join(',', parts);
    }

    private void AddContexts(List<string> parts)
    {
        // Passed as given: the LSM takes them out of the data string before FUSE parses the rest.
        if (Context is not null) parts.Add("context=" + Context);
        if (FsContext is not null) parts.Add("fscontext=" + FsContext);
        if (DefContext is not null) parts.Add("defcontext=" + DefContext);
        if (RootContext is not null) parts.Add("rootcontext=" + RootContext);
    }
}
