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
}
