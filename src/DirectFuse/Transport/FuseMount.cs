using System.Diagnostics;
using DirectFuse.Interop;
using DirectFuse.Session;
using Microsoft.Extensions.Logging;

namespace DirectFuse.Transport;

/// <summary>
/// A FUSE mount and its /dev/fuse fd. Made with mount(2) when the process is root, otherwise (or for
/// auto_unmount) through fusermount3, which passes the fd back over a socket as libfuse does; or inherited
/// already mounted from the process that started the server (<see cref="Inherit"/>).
/// </summary>
internal sealed partial class FuseMount : IDisposable
{
    private readonly ILogger _logger;
    private int _commFd = -1;
    private Process? _fusermount;
    private int _unmounted;
    private volatile bool _ended;

    private FuseMount(string mountPoint, int deviceFd, bool viaFusermount, MountOptions options, ILogger logger)
    {
        MountPoint = mountPoint;
        DeviceFd = deviceFd;
        ViaFusermount = viaFusermount;
        Options = options;
        _logger = logger;
    }

    public string MountPoint { get; }
    public int DeviceFd { get; private set; }
    public bool ViaFusermount { get; }
    public MountOptions Options { get; }
    /// <summary>
    /// The fd came mounted from the parent (/dev/fd/N): the mount is the parent's, so this process neither knows
    /// its path nor unmounts it, and the session stops by other means than an unmount (see FuseSession).
    /// </summary>
    public bool Inherited { get; private init; }
    /// <summary>The FUSE connection number (/sys/fs/fuse/connections/N), if it could be found.</summary>
    public uint? ConnectionId { get; private set; }
    /// <summary>
    /// Our end of the socket fusermount3 watches for auto_unmount (-1 without one): it unmounts when this closes
    /// while the connection reports ENOTCONN.
    /// </summary>
    public int AutoUnmountSocket => _commFd;

    public static FuseMount Create(string mountPoint, MountOptions options, ILogger logger)
    {
        mountPoint = Path.GetFullPath(mountPoint);
        bool isDir = Directory.Exists(mountPoint);
        if (!isDir && !File.Exists(mountPoint))
            throw new MountException($"mount point '{mountPoint}' does not exist", new Errno(2));
        if (MountTable.IsMountPoint(mountPoint) && MountTable.FindDeviceMinor(mountPoint, "fuse") is not null)
            throw new MountException($"mount point '{mountPoint}' is busy: a FUSE file system is already mounted there (run 'directfuse unmount {mountPoint}')", new Errno(16));

        // mount(2) needs CAP_SYS_ADMIN, not uid 0: root in a container may lack it and go through fusermount3.
        bool privileged = Interop.Capabilities.HasSysAdmin();
        var mount = privileged && !options.AutoUnmount
            ? MountDirect(mountPoint, isDir, options, logger)
            : MountWithFusermount(mountPoint, options, logger);
        mount.ConnectionId = MountTable.FindDeviceMinor(mountPoint, "fuse");
        return mount;
    }

    /// <summary>
    /// Takes over fd <paramref name="fd"/>, which the parent opened on /dev/fuse and mounted (libfuse's /dev/fd/N
    /// convention, used by mount.fuse3's drop_privileges): checked to be /dev/fuse, made close-on-exec and
    /// non-blocking (the session's workers must be able to stop without an unmount to wake their reads).
    /// </summary>
    public static unsafe FuseMount Inherit(int fd, MountOptions options, ILogger logger)
    {
        string name = FuseMounts.DeviceFdPrefix + fd;
        if (fd < 0 || Libc.fcntl(fd, Libc.F_GETFD, 0) < 0)
            throw new MountException($"{name}: no such open file descriptor (the parent must open /dev/fuse, mount it and pass the fd on without close-on-exec)", Errno.EBADF);
        byte* statx = stackalloc byte[256];
        if (Libc.statx(fd, "", Libc.AT_EMPTY_PATH, StatxType, statx) != 0)
            throw new MountException($"{name}: cannot inspect the file descriptor: {Errno.Last}", Errno.Last);
        uint type = *(ushort*)(statx + 28) & 0xf000u;
        uint major = *(uint*)(statx + 128), minor = *(uint*)(statx + 132);
        if (type != 0x2000u || major != FuseMiscMajor || minor != FuseMiscMinor)
            throw new MountException($"{name} is not an open /dev/fuse (it is {DescribeFd(fd)}); the mount point /dev/fd/N means an already mounted /dev/fuse fd", Errno.EINVAL);
        Libc.fcntl(fd, Libc.F_SETFD, Libc.FD_CLOEXEC);
        int flags = Libc.fcntl(fd, Libc.F_GETFL, 0);
        if (flags >= 0) Libc.fcntl(fd, Libc.F_SETFL, flags | Libc.O_NONBLOCK);
        return new FuseMount(name, fd, viaFusermount: false, options, logger) { Inherited = true };
    }

    /// <summary>statx mask for the file type (and the device numbers, which come with it).</summary>
    private const uint StatxType = 1;
    /// <summary>/dev/fuse is the misc character device 10:229.</summary>
    private const uint FuseMiscMajor = 10, FuseMiscMinor = 229;

    private static string DescribeFd(int fd)
    {
        try
        {
            return "'" + (new FileInfo($"/proc/self/fd/{fd}").LinkTarget ?? "?") + "'";
        }
        catch (IOException)
        {
            return "something else";
        }
    }

    private static FuseMount MountDirect(string mountPoint, bool isDir, MountOptions options, ILogger logger)
    {
        int fd = OpenDevice();
        uint rootMode = isDir ? 0x4000u : 0x8000u;
        string data = options.ToKernelData(fd, rootMode, Libc.geteuid(), Libc.getegid());
        string type = options.Subtype is null ? "fuse" : "fuse." + options.Subtype;
        if (Libc.mount(options.FsName, mountPoint, type, options.MountFlags, data) != 0)
        {
            var errno = Errno.Last;
            Libc.close(fd);
            throw new MountException(errno == Errno.EPERM || errno == Errno.EACCES
                ? $"permission denied mounting '{mountPoint}': {errno}"
                : $"mount(2) of '{mountPoint}' failed: {errno}"
                    + (errno == Errno.EINVAL && options.HasSecurityContext ? " (context=, fscontext=, defcontext= and rootcontext= need SELinux in the kernel)" : ""), errno);
        }
        return new FuseMount(mountPoint, fd, viaFusermount: false, options, logger);
    }

    internal static int OpenDevice()
    {
        int fd = Libc.open("/dev/fuse", Libc.O_RDWR | Libc.O_CLOEXEC, 0);
        if (fd >= 0) return fd;
        var errno = Errno.Last;
        throw errno == Errno.ENOENT || errno == Errno.ENODEV
            ? new MountException("no /dev/fuse on this machine (is the fuse module loaded? try 'modprobe fuse')", errno)
            : new MountException($"cannot open /dev/fuse: {errno}" + (errno == Errno.EACCES || errno == Errno.EPERM ? " (permission denied)" : ""), errno);
    }

    private static unsafe FuseMount MountWithFusermount(string mountPoint, MountOptions options, ILogger logger)
    {
        string fusermount = FindFusermount()
            ?? throw new MountException("permission denied: mounting as a non-root user needs fusermount3 (apt-get install fuse3)", Errno.EPERM);
        int* sv = stackalloc int[2];
        // No SOCK_CLOEXEC on purpose: fusermount3 inherits sv[1] and sends the device fd back over it.
        if (Libc.socketpair(Libc.AF_UNIX, Libc.SOCK_STREAM, 0, sv) != 0)
            throw new MountException($"socketpair failed: {Errno.Last}", Errno.Last);
        Libc.fcntl(sv[0], Libc.F_SETFD, Libc.FD_CLOEXEC);
        var psi = new ProcessStartInfo(fusermount) { UseShellExecute = false, RedirectStandardError = true };
        psi.ArgumentList.Add("-o");
        psi.ArgumentList.Add(options.ToFusermountOptions(Libc.getuid()));
        psi.ArgumentList.Add("--");
        psi.ArgumentList.Add(mountPoint);
        psi.Environment["_FUSE_COMMFD"] = sv[1].ToString();
        Process process;
        try
        {
            process = Process.Start(psi) ?? throw new MountException($"could not start {fusermount}");
        }
        catch
        {
            Libc.close(sv[0]);
            throw;
        }
        finally
        {
            Libc.close(sv[1]);
        }
        int fd = ReceiveFd(sv[0]);
        if (fd < 0)
        {
            Libc.close(sv[0]);
            string err = process.WaitForExit(10_000) ? process.StandardError.ReadToEnd().Trim() : "";
            if (!process.HasExited) process.Kill();
            throw new MountException(string.IsNullOrEmpty(err) ? $"fusermount3 could not mount '{mountPoint}'" : err.Replace("\n", "; "), Errno.EPERM);
        }
        var mount = new FuseMount(mountPoint, fd, viaFusermount: true, options, logger) { _fusermount = process };
        if (options.AutoUnmount)
            mount._commFd = sv[0]; // fusermount3 unmounts when this socket closes, even if we crash
        else
        {
            process.WaitForExit(10_000);
            Libc.close(sv[0]);
        }
        return mount;
    }

    private static unsafe int ReceiveFd(int socket)
    {
        byte dummy;
        var iov = new Libc.IoVec { Base = &dummy, Len = 1 };
        const int ControlSize = 24; // CMSG_SPACE(sizeof(int)) on 64-bit
        byte* control = stackalloc byte[ControlSize];
        new Span<byte>(control, ControlSize).Clear();
        var msg = new Libc.MsgHdr { Iov = &iov, IovLen = 1, Control = control, ControlLen = ControlSize };
        nint n;
        do n = Libc.recvmsg(socket, &msg, 0);
        while (n < 0 && Libc.LastErrno == 4);
        if (n <= 0) return -1;
        var cmsg = (Libc.CmsgHdr*)control;
        if (msg.ControlLen < sizeof(Libc.CmsgHdr) || cmsg->Level != Libc.SOL_SOCKET || cmsg->Type != Libc.SCM_RIGHTS) return -1;
        int fd = *(int*)(control + sizeof(Libc.CmsgHdr));
        Libc.fcntl(fd, Libc.F_SETFD, Libc.FD_CLOEXEC);
        return fd;
    }

    internal static string? FindFusermount()
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Append("/usr/bin").Append("/bin"))
        {
            var candidate = Path.Combine(dir, "fusermount3");
            if (File.Exists(candidate)) return candidate;
        }
        return null;
    }

    /// <summary>Detaches the mount (lazily: open files keep working until closed). Safe to call twice.</summary>
    public void Unmount()
    {
        if (Inherited || Interlocked.Exchange(ref _unmounted, 1) != 0) return;
        // Already unmounted from outside (umount, fusermount3 -u): nothing to do, and nothing else to hit.
        bool stillOurs = ConnectionId is not { } id || MountTable.FindDeviceMinor(MountPoint, "fuse") == id;
        if (!stillOurs) { }
        else if (!ViaFusermount)
        {
            // A plain unmount first; if a client keeps the mount busy, detach it lazily (the connection then
            // lives on until the last open file is closed, or until Abort).
            if (Libc.umount2(MountPoint, 0) != 0 && Errno.Last == Errno.EBUSY
                && Libc.umount2(MountPoint, Libc.MNT_DETACH) != 0 && Errno.Last != Errno.EINVAL && Errno.Last != Errno.ENOENT)
                LogUnmountFailed(_logger, MountPoint, Errno.Last.ToString());
        }
        else
        {
            RunFusermountUnmount(MountPoint, _logger);
        }
        if (_commFd >= 0)
        {
            Libc.close(_commFd);
            _commFd = -1;
        }
    }

    internal static bool RunFusermountUnmount(string mountPoint, ILogger logger)
    {
        string? fusermount = FindFusermount();
        if (fusermount is null) return false;
        var psi = new ProcessStartInfo(fusermount) { UseShellExecute = false, RedirectStandardError = true };
        foreach (var a in new[] { "-u", "-z", "-q", "--", mountPoint }) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi);
        if (p is null) return false;
        string err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0 && !err.Contains("not mounted") && !err.Contains("not found in"))
            LogUnmountFailed(logger, mountPoint, err.Trim());
        return p.ExitCode == 0;
    }

    /// <summary>
    /// The kernel ended the connection (ENODEV: unmounted from outside). From now on nothing at the mount point is
    /// ours: a new mount there may even have been given our old connection number, which the kernel reuses at once,
    /// and unmounting or aborting it would end somebody else's file system.
    /// </summary>
    public void ConnectionEnded()
    {
        _ended = true;
        Interlocked.Exchange(ref _unmounted, 1);
    }

    /// <summary>Aborts the connection: every pending and future request fails with ENOTCONN. Last resort.</summary>
    public void Abort()
    {
        if (_ended || ConnectionId is not { } id) return;
        const string FuseCtl = "/sys/fs/fuse/connections";
        string abort = $"{FuseCtl}/{id}/abort";
        // The fusectl file system is usually mounted at boot (systemd); mount it if this root process can.
        if (!File.Exists(abort) && Interop.Capabilities.HasSysAdmin() && Directory.Exists(FuseCtl))
            Libc.mount("fusectl", FuseCtl, "fusectl", 0, "");
        try
        {
            File.WriteAllText(abort, "1");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            LogAbortFailed(_logger, id, e.Message);
        }
    }

    /// <summary>
    /// Last resort when an orderly shutdown hangs (an unmount waiting on a handler that never answers): aborts
    /// the connection, then detaches the mount lazily even while <see cref="Unmount"/> is still running.
    /// Returns true once our mount is no longer in the mount table.
    /// </summary>
    public bool ForceUnmount()
    {
        if (Inherited || _ended) return true; // not ours to remove (the parent's, or gone already)
        Abort();
        if (!IsStillMounted()) return true;
        if (!ViaFusermount) Libc.umount2(MountPoint, Libc.MNT_DETACH);
        else RunFusermountUnmount(MountPoint, _logger);
        return !IsStillMounted();
    }

    /// <summary>True while our connection is the mount at <see cref="MountPoint"/> (not unmounted from outside or by us).</summary>
    private bool IsStillMounted() =>
        MountTable.FindDeviceMinor(MountPoint, "fuse") is { } minor && (ConnectionId is not { } id || minor == id);

    public void Dispose()
    {
        Unmount();
        // After ConnectionEnded, Unmount did nothing; fusermount3 (auto_unmount) need not wait for our exit.
        if (_commFd >= 0)
        {
            Libc.close(_commFd);
            _commFd = -1;
        }
        _fusermount?.Dispose();
    }

    /// <summary>Gives up ownership of the device fd (the session's channel closes it).</summary>
    public int TakeDeviceFd()
    {
        int fd = DeviceFd;
        DeviceFd = -1;
        return fd;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Unmounting {MountPoint} failed: {Reason}")]
    private static partial void LogUnmountFailed(ILogger logger, string mountPoint, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Aborting FUSE connection {Id} failed: {Reason}")]
    private static partial void LogAbortFailed(ILogger logger, uint id, string reason);
}
