using DirectFuse.Session;

namespace DirectFuse.Cli.Commands;

/// <summary>What the mount point of a subcommand must be.</summary>
internal enum MountPointKind
{
    /// <summary>A directory, as for every file system.</summary>
    Directory,

    /// <summary>A regular file, as for a device (ossdsp); created when missing.</summary>
    File,
}

/// <summary>
/// Checks of <c>mount</c> arguments that must hold before anything is mounted: each returns the one-line
/// message for the user, or null. Anything caught here would otherwise mount and then fail on every request
/// (memfs on a regular file answers only EIO) or crash later (a hundred thousand worker threads).
/// </summary>
internal static class OptionChecks
{
    /// <summary>
    /// The most worker threads a server may ask for. Each one blocks in read(2) on its own cloned /dev/fuse fd,
    /// so more threads only help while more requests can block in the file system at once: the kernel sends at
    /// most max_background (12 by default) background requests, and synchronous ones are bounded by the client
    /// threads. 256 is well above any core count the servers run on, and far below where thread stacks and fds
    /// become a problem of their own.
    /// </summary>
    public const int MaxThreads = 256;

    public static string? Threads(int threads) =>
        threads is < 1 or > MaxThreads ? $"--threads must be between 1 and {MaxThreads} (got {threads})" : null;

    /// <summary>
    /// The mount point as the subcommand needs it; a missing device file is fine, as it is created. /dev/fd/N is an
    /// already mounted /dev/fuse that the session checks itself.
    /// </summary>
    public static string? MountPoint(string mountPoint, MountPointKind kind)
    {
        if (DirectFuse.Session.FuseMounts.TryParseDeviceFd(mountPoint, out _)) return null;
        var actual = PathKind.Of(mountPoint);
        if (kind == MountPointKind.Directory)
            return actual switch
            {
                PathKind.Kind.Directory => null,
                PathKind.Kind.Missing => $"mount point '{mountPoint}' does not exist",
                _ => $"mount point '{mountPoint}' is not a directory",
            };
        switch (actual)
        {
            case PathKind.Kind.RegularFile:
                return null;
            case PathKind.Kind.Directory:
                return $"'{mountPoint}' is a directory; the device needs a file path";
            case PathKind.Kind.Other:
                // Mounted on a device, FIFO or socket, the device would hide it until unmounted.
                return $"'{mountPoint}' is not a regular file; the device needs a file path";
        }
        string parent = Path.GetDirectoryName(Path.GetFullPath(mountPoint)) ?? "/";
        return PathKind.Of(parent) == PathKind.Kind.Directory ? null : $"device path '{mountPoint}': directory '{parent}' does not exist";
    }

    /// <summary>
    /// fmmap --size and shmfs --max-file against --quota: a region larger than the quota can never be reserved,
    /// so <paramref name="consequence"/> would happen on every use instead of once, here.
    /// </summary>
    public static string? FitsQuota(string option, long bytes, long quotaBytes, string consequence) =>
        bytes > quotaBytes ? $"{option} {ByteSize.Format(bytes)} is larger than --quota {ByteSize.Format(quotaBytes)}: {consequence}" : null;

    /// <summary>fmmap --sync-interval: milliseconds, 0 for never.</summary>
    public static string? SyncInterval(int milliseconds) =>
        milliseconds < 0 ? $"--sync-interval must be 0 (never) or a number of milliseconds (got {milliseconds})" : null;
}
