namespace DirectFuse.Cli.Commands;

/// <summary>What the command does with a generic <c>-o</c> option.</summary>
internal enum OptionHandling
{
    /// <summary>Honoured by the mount: mount(2)'s flags or data string, or fusermount3 (DirectFuse.Session.MountOptions).</summary>
    Mount,

    /// <summary>Honoured by the server itself (threads, debug, behaviour that is always on).</summary>
    Server,

    /// <summary>Accepted and ignored, for the reason given.</summary>
    Ignored,

    /// <summary>Refused with one line that gives the reason.</summary>
    Refused,
}

/// <summary>One generic <c>-o</c> option (or family, <c>x-*</c>) and what happens to it.</summary>
/// <param name="Name">The name; a trailing <c>*</c> makes it a prefix (<c>x-*</c>).</param>
/// <param name="Value">What follows <c>=</c> in help (<c>N</c>, <c>NAME</c>), or null for an option without a value.</param>
/// <param name="Handling">Honoured, ignored or refused.</param>
/// <param name="Help">What it does, or why it is ignored or refused.</param>
/// <param name="Quiet">An ignored option that mount(8), fstab or systemd use: ignoring it is expected, nothing is said.</param>
internal sealed record MountOptionInfo(string Name, string? Value, OptionHandling Handling, string Help, bool Quiet = false)
{
    public bool IsFamily => Name.EndsWith('*');

    public bool Matches(string key) => IsFamily ? key.StartsWith(Name[..^1], StringComparison.Ordinal) && key.Length > Name.Length - 1 : key == Name;

    /// <summary>How help shows it: <c>fsname=NAME</c>, <c>ro</c>, <c>x-*</c>.</summary>
    public string Display => Value is null ? Name : $"{Name}={Value}";
}

/// <summary>
/// Every generic <c>-o</c> option the command knows (fuse(8), libfuse's helper, low-level and high-level options,
/// mount.fuse3's, mount(8)'s and fstab's), with what it does here. Parsing and <c>--help</c> both read this table,
/// so what help says is what happens. Kind-specific options (<c>size=</c>, <c>policy=</c>, ...) are not here: they
/// come from each file system's command (<see cref="KindOptions"/>).
/// </summary>
internal static class MountOptionTable
{
    private const string FstabOnly = "for mount(8), fstab and systemd; nothing for the server to do";
    private const string HighLevel = "libfuse high-level (path) API option";
    private const string OwnersAndModes = HighLevel + " that rewrites owners and modes: the file systems here keep real owners and modes "
        + "and check them (use chown/chmod, or allow_other with default_permissions)";
    private const string ThroughMountFuse3 = "a mount.fuse3 option: mount through mount.fuse3 (mount -t fuse.directfuse ...) or start directfuse as that user yourself";
    private const string OursToSet = "set by directfuse itself when it mounts (a /dev/fuse that is already mounted is passed as the mount point /dev/fd/N)";

    public static readonly IReadOnlyList<MountOptionInfo> All =
    [
        new("fsname", "NAME", OptionHandling.Mount, "the source shown in /proc/mounts and df (default: SOURCE)"),
        new("subtype", "TYPE", OptionHandling.Mount, "the type is shown as fuse.TYPE (default: directfuse)"),
        new("allow_other", null, OptionHandling.Mount, "every user may use the mount (root, or user_allow_other in /etc/fuse.conf)"),
        new("allow_root", null, OptionHandling.Mount, "only the owner and root may use the mount: the kernel gets allow_other, the server answers EACCES to everybody else"),
        new("default_permissions", null, OptionHandling.Mount, "the kernel checks modes and owners before a request reaches the server"),
        new("ro", null, OptionHandling.Mount, "read-only (MS_RDONLY)"),
        new("rw", null, OptionHandling.Mount, "read-write (the default)"),
        new("nosuid", null, OptionHandling.Mount, "set-user-ID bits do nothing (MS_NOSUID; the default)"),
        new("suid", null, OptionHandling.Mount, "set-user-ID bits work (root only; mount.fuse3 adds it unless nosuid)"),
        new("nodev", null, OptionHandling.Mount, "device nodes cannot be opened (MS_NODEV; the default)"),
        new("dev", null, OptionHandling.Mount, "device nodes can be opened (root only; mount.fuse3 adds it unless nodev)"),
        new("noexec", null, OptionHandling.Mount, "nothing can be executed (MS_NOEXEC)"),
        new("exec", null, OptionHandling.Mount, "programs can be executed (the default)"),
        new("noatime", null, OptionHandling.Mount, "MS_NOATIME; atime undoes it"),
        new("atime", null, OptionHandling.Mount, "clears MS_NOATIME"),
        new("nodiratime", null, OptionHandling.Mount, "MS_NODIRATIME; diratime undoes it"),
        new("diratime", null, OptionHandling.Mount, "clears MS_NODIRATIME"),
        new("relatime", null, OptionHandling.Mount, "MS_RELATIME (the kernel's default); norelatime undoes it"),
        new("norelatime", null, OptionHandling.Mount, "clears MS_RELATIME"),
        new("strictatime", null, OptionHandling.Mount, "MS_STRICTATIME; nostrictatime undoes it"),
        new("nostrictatime", null, OptionHandling.Mount, "clears MS_STRICTATIME"),
        new("lazytime", null, OptionHandling.Mount, "MS_LAZYTIME; nolazytime undoes it"),
        new("nolazytime", null, OptionHandling.Mount, "clears MS_LAZYTIME"),
        new("sync", null, OptionHandling.Mount, "synchronous writes (MS_SYNCHRONOUS: each write(2) is followed by FSYNC); async undoes it"),
        new("async", null, OptionHandling.Mount, "clears MS_SYNCHRONOUS (the default)"),
        new("dirsync", null, OptionHandling.Mount, "synchronous directory changes (MS_DIRSYNC)"),
        new("max_read", "N", OptionHandling.Mount, "largest READ request in bytes (0: no limit)"),
        new("auto_unmount", null, OptionHandling.Mount, "the mount goes when the server ends, however it ends (through fusermount3)"),
        new("context", "LABEL", OptionHandling.Mount, "SELinux label for every file, passed to the kernel (which refuses it without SELinux)"),
        new("fscontext", "LABEL", OptionHandling.Mount, "SELinux label of the file system, passed to the kernel"),
        new("defcontext", "LABEL", OptionHandling.Mount, "SELinux default label, passed to the kernel"),
        new("rootcontext", "LABEL", OptionHandling.Mount, "SELinux label of the root, passed to the kernel"),

        new("debug", null, OptionHandling.Server, "print every request (implies -f), as -d does"),
        new("max_threads", "N", OptionHandling.Server, "worker threads, each on its own cloned /dev/fuse fd (1..256; as --threads; -s is 1)"),
        new("threads", "N", OptionHandling.Server, "the same as max_threads=N"),
        new("clone_fd", null, OptionHandling.Server, "always on: every worker thread reads its own cloned /dev/fuse fd"),
        new("intr", null, OptionHandling.Server, "always on: an INTERRUPT cancels the handler's CancellationToken"),
        new("io_uring", null, OptionHandling.Server, "serve requests over FUSE-over-io_uring where the kernel allows it (else /dev/fuse, with the reason)"),

        new("max_idle_threads", "N", OptionHandling.Ignored, "the worker pool has a fixed size (max_threads): no thread is started or stopped while serving"),
        new("kernel_cache", null, OptionHandling.Ignored, HighLevel + ": each file system here decides page caching per open"),
        new("auto_cache", null, OptionHandling.Ignored, HighLevel + ": each file system here decides page caching per open"),
        new("noauto_cache", null, OptionHandling.Ignored, HighLevel + ": each file system here decides page caching per open"),
        new("direct_io", null, OptionHandling.Ignored, HighLevel + ": each file system here chooses direct I/O per open (forcing it would defeat passthrough and direct mmap)"),
        new("entry_timeout", "T", OptionHandling.Ignored, HighLevel + ": each file system here sets its own cache timeouts"),
        new("negative_timeout", "T", OptionHandling.Ignored, HighLevel + ": each file system here sets its own cache timeouts"),
        new("attr_timeout", "T", OptionHandling.Ignored, HighLevel + ": each file system here sets its own cache timeouts"),
        new("ac_attr_timeout", "T", OptionHandling.Ignored, HighLevel + ": each file system here sets its own cache timeouts"),
        new("noforget", null, OptionHandling.Ignored, HighLevel + ": the file systems here are inode based and keep their own inode numbers"),
        new("remember", "T", OptionHandling.Ignored, HighLevel + ": the file systems here are inode based and keep their own inode numbers"),
        new("use_ino", null, OptionHandling.Ignored, HighLevel + ": the file systems here always report their own inode numbers"),
        new("readdir_ino", null, OptionHandling.Ignored, HighLevel + ": the file systems here always report their own inode numbers"),
        new("hard_remove", null, OptionHandling.Ignored, HighLevel + ": the file systems here are inode based; an open file outlives its name as in POSIX"),
        new("nopath", null, OptionHandling.Ignored, HighLevel + ": the file systems here are inode based"),
        new("no_rofd_flush", null, OptionHandling.Ignored, HighLevel + ": each file system here decides about FLUSH itself"),
        new("intr_signal", "N", OptionHandling.Ignored, "no signal is sent to a handler: an INTERRUPT cancels its CancellationToken"),
        new("nonempty", null, OptionHandling.Ignored, "FUSE 3 always mounts over a non-empty directory"),

        new("defaults", null, OptionHandling.Ignored, FstabOnly, Quiet: true),
        new("auto", null, OptionHandling.Ignored, FstabOnly, Quiet: true),
        new("noauto", null, OptionHandling.Ignored, FstabOnly, Quiet: true),
        new("nofail", null, OptionHandling.Ignored, FstabOnly, Quiet: true),
        new("_netdev", null, OptionHandling.Ignored, FstabOnly, Quiet: true),
        new("_rnetdev", null, OptionHandling.Ignored, FstabOnly, Quiet: true),
        new("user", null, OptionHandling.Ignored, FstabOnly, Quiet: true),
        new("nouser", null, OptionHandling.Ignored, FstabOnly, Quiet: true),
        new("users", null, OptionHandling.Ignored, FstabOnly, Quiet: true),
        new("owner", null, OptionHandling.Ignored, FstabOnly, Quiet: true),
        new("group", null, OptionHandling.Ignored, FstabOnly, Quiet: true),
        new("user", "NAME", OptionHandling.Ignored, FstabOnly, Quiet: true),
        new("comment", "TEXT", OptionHandling.Ignored, FstabOnly, Quiet: true),
        new("x-*", null, OptionHandling.Ignored, FstabOnly + " (x-systemd.*, x-gvfs-*, ...)", Quiet: true),
        new("X-*", null, OptionHandling.Ignored, FstabOnly + " (X-mount.mkdir, ...)", Quiet: true),

        new("uid", "N", OptionHandling.Refused, OwnersAndModes),
        new("gid", "N", OptionHandling.Refused, OwnersAndModes),
        new("umask", "M", OptionHandling.Refused, OwnersAndModes),
        new("fmask", "M", OptionHandling.Refused, OwnersAndModes),
        new("dmask", "M", OptionHandling.Refused, OwnersAndModes),
        new("modules", "M", OptionHandling.Refused, "libfuse's stacking modules (subdir, iconv) do not exist here"),
        new("setuid", "USER", OptionHandling.Refused, ThroughMountFuse3),
        new("drop_privileges", null, OptionHandling.Refused, ThroughMountFuse3),
        new("blksize", "N", OptionHandling.Refused, "only valid for fuseblk mounts (block-device file systems); directfuse mounts type fuse"),
        new("blkdev", null, OptionHandling.Refused, "a fuseblk mount of a block device: directfuse serves no block devices"),
        new("fd", "N", OptionHandling.Refused, OursToSet),
        new("rootmode", "M", OptionHandling.Refused, OursToSet),
        new("user_id", "N", OptionHandling.Refused, OursToSet),
        new("group_id", "N", OptionHandling.Refused, OursToSet),
    ];

    /// <summary>The entry for <paramref name="key"/> given with or without a value, or null if the option is unknown.</summary>
    public static MountOptionInfo? Find(string key, bool hasValue) =>
        All.FirstOrDefault(o => o.Matches(key) && (o.IsFamily || (o.Value is not null) == hasValue))
        ?? All.FirstOrDefault(o => o.Matches(key));
}
