using DirectFuse.Examples.MemFs;
using DirectFuse.Interop;
using DirectFuse.Session;
using DirectFuse.Tests.Infrastructure;
using DirectFuse.Transport;

namespace DirectFuse.Tests.Session;

/// <summary>
/// A session ended by an unmount from outside must leave its mount point alone: the kernel gives the next FUSE
/// mount the freed connection number at once, so a new mount on the same path looked like "still ours" and the
/// old server unmounted it (seen with umount followed at once by mount -t fuse.directfuse on the same directory).
/// </summary>
public sealed class RemountRaceTests
{
    [Fact]
    public void An_old_session_ending_late_leaves_a_new_mount_on_the_same_path_alone()
    {
        string dir = Directory.CreateTempSubdirectory("df-remount-").FullName;
        var options = new FuseSessionOptions { Mount = new MountOptions { Subtype = "test" }, InitTimeout = Patience.Seconds(10) };
        try
        {
            var old = FuseSession.Mount(new MemFileSystem(), dir, options);
            uint? oldId = old.ConnectionId;
            Assert.Equal(0, Libc.umount2(dir, 0));
            Assert.True(old.Completion.Wait(Patience.Seconds(10)));
            using var fresh = FuseSession.Mount(new MemFileSystem(), dir, options);
            // Usually the same number: the case that went wrong. Either way the old session must not touch it.
            old.Dispose();
            Assert.True(Mounts.IsFuseMounted(dir), $"the old session (connection {oldId}) removed the new mount (connection {fresh.ConnectionId})");
            File.WriteAllText(Path.Combine(dir, "f"), "new");
            Assert.Equal("new", File.ReadAllText(Path.Combine(dir, "f")));
        }
        finally
        {
            Mounts.ForceUnmount(dir);
            Directory.Delete(dir);
        }
    }
}
