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
