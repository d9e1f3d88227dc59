using System.Diagnostics;
using DirectFuse.LowLevel;
using DirectFuse.Protocol;
using DirectFuse.Session;
using DirectFuse.Tests.Infrastructure;
using DirectFuse.Tests.Protocol;
using DirectFuse.Transport;

namespace DirectFuse.Tests.Session;

/// <summary>
/// A file system whose Init throws fails the mount at once, saying why; not, as it once did (reflection under
/// Native AOT), after a timeout that blamed the kernel for never sending INIT.
/// </summary>
public sealed class InitFailureTests
{
    private sealed class ThrowingInit : LowLevelFileSystem
    {
        public override void Init(FuseConnection connection) => throw new InvalidOperationException("no capabilities today");
    }

    [Fact]
    public void INIT_is_refused_and_the_failure_is_kept_for_the_waiter()
    {
        using var k = new FakeKernel(new TestFileSystem { OnInit = _ => throw new InvalidOperationException("no capabilities today") });

        var (m, _, _) = k.InitModern();

        Assert.Equal(-Errno.EIO.Value, m.Error);
        Assert.False(k.Core.Initialized);
        Assert.True(k.Core.InitCompleted.IsFaulted);
        Assert.Equal("no capabilities today", k.Core.InitFailure?.Message);
    }

    [Fact]
    public void Mount_fails_at_once_with_the_file_systems_exception_and_leaves_nothing_mounted()
    {
        string dir = Directory.CreateTempSubdirectory("df-initfail-").FullName;
        try
        {
            var clock = Stopwatch.StartNew();
            var e = Assert.Throws<MountException>(() => FuseSession.Mount(new ThrowingInit(), dir,
                new FuseSessionOptions { Mount = new MountOptions { Subtype = "test" }, InitTimeout = TimeSpan.FromSeconds(30) }));

            Assert.True(clock.Elapsed < Patience.Seconds(10), $"the failure took {clock.Elapsed.TotalSeconds:0.0} s: it waited for the INIT timeout");
            Assert.Contains("InvalidOperationException: no capabilities today", e.Message);
            Assert.IsType<InvalidOperationException>(e.InnerException);
            Assert.False(Mounts.IsFuseMounted(dir));
        }
        finally
        {
            Mounts.ForceUnmount(dir);
            Directory.Delete(dir);
        }
    }
}
