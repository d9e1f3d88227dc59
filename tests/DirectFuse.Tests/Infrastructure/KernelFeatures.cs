namespace DirectFuse.Tests.Infrastructure;

/// <summary>
/// What the running kernel offers, for tests that assert the right behaviour on each kernel (the newest one's,
/// or the fallback's) instead of assuming this machine's. scripts/kernel-matrix.sh runs them on older kernels.
/// </summary>
public static class KernelFeatures
{
    /// <summary>True when the running kernel is <paramref name="major"/>.<paramref name="minor"/> or newer.</summary>
    public static bool AtLeast(int major, int minor) => DirectFuse.Examples.Loopback.KernelRelease.AtLeast(major, minor);

    /// <summary>FUSE passthrough (6.9+); the tests run as root, so backing files may be registered.</summary>
    public static bool Passthrough => AtLeast(6, 9);

    /// <summary>FUSE_DIRECT_IO_ALLOW_MMAP (6.6+): a direct-I/O file (a device node) can be mapped shared.</summary>
    public static bool DirectIoAllowMmap => AtLeast(6, 6);

    /// <summary>
    /// The FUSE protocol minor the running kernel offers at INIT (7.38 on 6.1, 7.41 on 6.12, 7.32 on 5.10), read
    /// once from a probe mount.
    /// </summary>
    public static uint ProtocolMinor => ProbedMinor.Value;

    private static readonly Lazy<uint> ProbedMinor = new(() =>
    {
        using var probe = TempMount.Create(new DirectFuse.Examples.MemFs.MemFileSystem(), prefix: "df-probe-");
        return probe.Session.Connection.KernelMinor;
    });

    /// <summary>FOPEN_NOFLUSH (protocol 7.35, Linux 5.16): an open can spare the kernel's FLUSH at close.</summary>
    public static bool NoFlush => ProtocolMinor >= 35;

    /// <summary>
    /// FUSE_HANDLE_KILLPRIV_V2 (protocol 7.33, Linux 5.11): the kernel tells the server when a write, truncation or
    /// O_TRUNC open must drop set-user-ID and set-group-ID bits. Before, it clears them with a chmod of its own
    /// (only set-user-ID, and set-group-ID when group-executable), and never at an O_TRUNC open.
    /// </summary>
    public static bool KillPrivV2 => ProtocolMinor >= 33;

    /// <summary>CUSE (/dev/cuse; CONFIG_CUSE, e.g. Debian's cuse module; not in this machine's 6.18).</summary>
    public static bool Cuse => DirectFuse.Cuse.CuseSession.IsAvailable;

    /// <summary>FUSE over io_uring can be switched on (CONFIG_FUSE_IO_URING, Linux 6.14+: the enable_uring parameter).</summary>
    public static bool IoUring => File.Exists("/sys/module/fuse/parameters/enable_uring");

    /// <summary>Multigrain timestamps (6.13+): every change moves a directory's mtime, even within a clock tick.</summary>
    public static bool MultigrainTimestamps => AtLeast(6, 13);

    /// <summary>The direct-mmap mode a root server gets on this kernel without asking for one.</summary>
    public static DirectFuse.DirectMmap.DirectMmapMode DefaultMmapMode =>
        Passthrough ? DirectFuse.DirectMmap.DirectMmapMode.Passthrough : DirectFuse.DirectMmap.DirectMmapMode.PageCache;

    /// <summary>
    /// For tests of the zero-copy path: true where the kernel has passthrough (and the binder must use it); on an
    /// older kernel asserts that the binder fell back to the page-cache mirror and says why, and returns false —
    /// the mirror has tests of its own that run on every kernel.
    /// </summary>
    public static bool ExpectPassthrough(DirectFuse.DirectMmap.RegionBinder binder)
    {
        if (Passthrough)
        {
            Assert.Equal(DirectFuse.DirectMmap.DirectMmapMode.Passthrough, binder.Mode);
            return true;
        }
        Assert.Equal(DirectFuse.DirectMmap.DirectMmapMode.PageCache, binder.Mode);
        Assert.Contains("6.9", binder.ModeReason);
        return false;
    }
}
