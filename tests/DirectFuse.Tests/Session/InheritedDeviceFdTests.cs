using DirectFuse.Examples.MemFs;
using DirectFuse.Interop;
using DirectFuse.Session;
using DirectFuse.Tests.Infrastructure;
using DirectFuse.Transport;

namespace DirectFuse.Tests.Session;

/// <summary>
/// libfuse's /dev/fd/N convention: the process that starts a server opens /dev/fuse and mounts it itself, and the
/// server serves that fd instead of mounting. Here the test plays that process.
/// </summary>
public sealed class InheritedDeviceFdTests
{
    /// <summary>Opens /dev/fuse and mounts it on a new directory, as mount.fuse3's drop_privileges does.</summary>
    private static (int Fd, string Dir) OpenAndMount()
    {
        string dir = Directory.CreateTempSubdirectory("df-fdmnt-").FullName;
        int fd = Libc.open("/dev/fuse", Libc.O_RDWR | Libc.O_CLOEXEC, 0);
        Assert.True(fd >= 0, $"open /dev/fuse: {Errno.Last}");
        int rc = Libc.mount("parent", dir, "fuse.test", Libc.MS_NOSUID | Libc.MS_NODEV, $"fd={fd},rootmode=40000,user_id=0,group_id=0");
        Assert.True(rc == 0, $"mount(2): {Errno.Last}");
        return (fd, dir);
    }

    private static FuseSessionOptions Options => new() { Threads = 3, InitTimeout = Patience.Seconds(10) };

    [Fact]
    public void A_dev_fd_mount_point_serves_the_inherited_fd_until_the_parent_unmounts()
    {
        var (fd, dir) = OpenAndMount();
        try
        {
            using var session = FuseSession.Mount(new MemFileSystem(), $"/dev/fd/{fd}", Options);
            Assert.True(session.ServesInheritedFd);
            Assert.Equal($"/dev/fd/{fd}", session.MountPoint);
            Assert.Null(session.ConnectionId);
            File.WriteAllText(Path.Combine(dir, "f"), "through the parent's mount");
            Assert.Equal("through the parent's mount", File.ReadAllText(Path.Combine(dir, "f")));
            // The parent unmounts: the session ends by itself.
            Assert.Equal(0, Libc.umount2(dir, 0));
            Assert.True(session.Completion.Wait(Patience.Seconds(10)), "the session did not end after the parent unmounted");
            Assert.Equal("unmounted", session.Completion.Result);
        }
        finally
        {
            Mounts.ForceUnmount(dir);
            Directory.Delete(dir);
        }
    }

    [Fact]
    public void Disposing_stops_serving_and_leaves_the_parents_mount_to_the_parent()
    {
        var (fd, dir) = OpenAndMount();
        try
        {
            var session = FuseSession.ServeMounted(new MemFileSystem(), fd, Options);
            File.WriteAllText(Path.Combine(dir, "f"), "x");
            Assert.True(session.Shutdown(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(3)), "the workers did not stop");
            // Still mounted (the parent's), but its server is gone: the kernel fails requests at once.
            Assert.True(Mounts.IsFuseMounted(dir));
            var stat = Run.Process("stat", [dir], TimeSpan.FromSeconds(10));
            Assert.True(stat.StdErr.Contains("Transport endpoint is not connected"), $"stat said: {stat.StdErr}");
        }
        finally
        {
            Mounts.ForceUnmount(dir);
            Directory.Delete(dir);
        }
    }

    [Fact]
    public void An_fd_that_is_not_dev_fuse_is_refused_before_anything_is_served()
    {
        int fd = Libc.open("/dev/null", Libc.O_RDWR | Libc.O_CLOEXEC, 0);
        try
        {
            var e = Assert.Throws<MountException>(() => FuseSession.Mount(new MemFileSystem(), $"/dev/fd/{fd}", Options));
            Assert.Equal($"/dev/fd/{fd} is not an open /dev/fuse (it is '/dev/null'); the mount point /dev/fd/N means an already mounted /dev/fuse fd", e.Message);
        }
        finally
        {
            Libc.close(fd);
        }
        var closed = Assert.Throws<MountException>(() => FuseSession.Mount(new MemFileSystem(), "/dev/fd/999999", Options));
        Assert.StartsWith("/dev/fd/999999: no such open file descriptor", closed.Message);
    }

    [Theory]
    [InlineData("/dev/fd/7", true, 7)]
    [InlineData("/dev/fd/0", true, 0)]
    [InlineData("/dev/fd/", false, -1)]
    [InlineData("/dev/fd/7/", false, -1)]
    [InlineData("/dev/fd/-1", false, -1)]
    [InlineData("/dev/fd/+1", false, -1)]
    [InlineData("/dev/fd/99999999999", false, -1)]
    [InlineData("/proc/self/fd/7", false, -1)]
    [InlineData("/tmp/dev/fd/7", false, -1)]
    public void Only_exactly_dev_fd_N_names_an_inherited_fd(string mountPoint, bool expected, int expectedFd)
    {
        Assert.Equal(expected, FuseMounts.TryParseDeviceFd(mountPoint, out int fd));
        Assert.Equal(expectedFd, fd);
    }
}
