using DirectFuse.Interop;
using DirectFuse.Transport;
using Microsoft.Extensions.Logging.Abstractions;

namespace DirectFuse.Session;

/// <summary>Operations on FUSE mounts that belong to any process (the <c>directfuse unmount</c> command).</summary>
public static class FuseMounts
{
    /// <summary>The prefix of a mount point that names an inherited, already mounted /dev/fuse fd: <c>/dev/fd/N</c>.</summary>
    public const string DeviceFdPrefix = "/dev/fd/";

    /// <summary>
    /// True when <paramref name="mountPoint"/> is exactly <c>/dev/fd/N</c> (N decimal digits, as libfuse's
    /// fuse_session_mount reads it): the parent already opened /dev/fuse as fd N and mounted it, and the server
    /// serves that fd instead of mounting (<see cref="Session.FuseSession.Mount"/> does so).
    /// </summary>
    public static bool TryParseDeviceFd(string mountPoint, out int fd)
    {
        fd = -1;
        if (!mountPoint.StartsWith(DeviceFdPrefix, StringComparison.Ordinal)) return false;
        var digits = mountPoint.AsSpan(DeviceFdPrefix.Length);
        if (digits.IsEmpty || digits.ContainsAnyExceptInRange('0', '9')) return false;
        if (int.TryParse(digits, System.Globalization.NumberStyles.None, null, out fd)) return true;
        fd = -1;
        return false;
    }

    /// <summary>True if a FUSE file system is mounted at <paramref name="mountPoint"/>.</summary>
    public static bool IsFuseMount(string mountPoint) =>
        MountTable.FindDeviceMinor(Path.GetFullPath(mountPoint), "fuse") is not null;

    /// <summary>The FUSE connection number (as in /sys/fs/fuse/connections) of the mount at <paramref name="mountPoint"/>, read from mountinfo without touching the mount.</summary>
    public static uint? ConnectionId(string mountPoint) =>
        MountTable.FindDeviceMinor(Path.GetFullPath(mountPoint), "fuse");

    /// <summary>
    /// The user that owns the FUSE mount at <paramref name="mountPoint"/>: mountinfo's <c>user_id=</c> option, the
    /// uid the kernel lets use the mount (without allow_other) and the one fusermount3 records for an unprivileged
    /// mount. Null if there is no FUSE mount there. Its server runs as this user or as root.
    /// </summary>
    public static uint? OwnerUid(string mountPoint) =>
        MountTable.FindSuperOption(Path.GetFullPath(mountPoint), "user_id", "fuse");

    /// <summary>
    /// Unmounts the FUSE file system at <paramref name="mountPoint"/>: umount(2) as root (lazily if it is
    /// busy), fusermount3 -u otherwise. Throws <see cref="MountException"/> with a one-line reason.
    /// </summary>
    public static void Unmount(string mountPoint)
    {
        string full = Path.GetFullPath(mountPoint);
        // mountinfo first: the mount of a dead server cannot even be stat'ed (ENOTCONN).
        if (!IsFuseMount(full))
            throw Directory.Exists(full) || File.Exists(full)
                ? new MountException($"'{full}' is not a FUSE mount point", Errno.EINVAL)
                : new MountException($"'{full}' does not exist", Errno.ENOENT);
        if (Interop.Capabilities.HasSysAdmin())
        {
            if (Libc.umount2(full, 0) == 0) return;
            var errno = Errno.Last;
            if (errno == Errno.EBUSY && Libc.umount2(full, Libc.MNT_DETACH) == 0) return;
            if (errno != Errno.EPERM) throw new MountException($"cannot unmount '{full}': {errno}", errno);
        }
        if (FuseMount.FindFusermount() is null)
            throw new MountException("unmounting as a non-root user needs fusermount3 (apt-get install fuse3)", Errno.EPERM);
        if (!FuseMount.RunFusermountUnmount(full, NullLogger.Instance))
            throw new MountException($"fusermount3 could not unmount '{full}'", Errno.EPERM);
    }
}
