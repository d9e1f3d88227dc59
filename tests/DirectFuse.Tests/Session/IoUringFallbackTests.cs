using DirectFuse.Examples.MemFs;
using DirectFuse.Session;
using DirectFuse.Tests.Examples;
using DirectFuse.Tests.Infrastructure;

namespace DirectFuse.Tests.Session;

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class UringParameterOffCollection
{
    /// <summary>
    /// Tests that turn the fuse module's enable_uring off run alone: every mount made meanwhile, in any test, would
    /// fall back to /dev/fuse, and the suite's io_uring pass expects its mounts on the rings (a CLI test that wants
    /// an empty stderr saw the fallback warning).
    /// </summary>
    public const string Name = "enable_uring off";
}

/// <summary>FUSE over io_uring asked for where the kernel has it switched off: the session serves /dev/fuse and says why.</summary>
[Collection(UringParameterOffCollection.Name)]
public sealed class IoUringFallbackTests
{
    [Fact]
    public void With_enable_uring_off_the_session_falls_back_and_says_why()
    {
        if (!UringParameter.Supported) return;
        string before = UringParameter.Current;
        using (UringParameter.Off())
        using (var m = TempMount.Create(new MemFileSystem(), new FuseSessionOptions { UseIoUring = true, Threads = 2 }))
        {
            Assert.Equal(FuseTransport.DevFuse, m.Session.Transport);
            Assert.Contains("enable_uring", m.Session.TransportReason);
            PosixToolSuite.CoreutilsTree(m.Path);
            Assert.Equal(0, m.Session.RequestsFromRing);
            Assert.True(m.Session.RequestsFromDevice > 100);
        }
        Assert.Equal(before, UringParameter.Current);
    }
}
