using DirectFuse.DirectMmap;
using DirectFuse.Examples.Shmfs;
using DirectFuse.Tests.Infrastructure;

namespace DirectFuse.Tests.DirectMmap;

/// <summary>
/// shmfs files growing by appends on real mounts (issue 10): a file may grow to the whole quota, the quota
/// counts each file once, and growth does not copy the file again at every append.
/// </summary>
public sealed class ShmfsGrowthTests
{
    private const long MiB = 1 << 20;

    [Fact]
    public void One_file_grows_by_appends_to_the_whole_quota_and_reads_back_intact()
    {
        var fs = new ShmFileSystem(new MmapAddressSpaceOptions { Quota = 64 * MiB });
        using var m = TempMount.Create(fs);
        // A known pattern one write longer than the quota, in 128 KiB appends (dd's writes) by the creating
        // open: everything up to the quota is taken, the write beyond answers EDQUOT.
        var dd = Run.Shell($"""
            head -c {64 * MiB + 128 * 1024} /dev/urandom > '{m.Path}.ref'
            dd if='{m.Path}.ref' of='{m["big"]}' bs=128k status=none
            """);
        try
        {
            Assert.NotEqual(0, dd.ExitCode);
            Assert.Contains("Disk quota exceeded", dd.StdErr);
            Assert.Equal(64 * MiB, fs.RegionOf("/big")!.Length);
            Assert.Equal(64 * MiB, fs.AddressSpace.Usage.Reserved);
            Run.Process("cmp", "-n", (64 * MiB).ToString(), m.Path + ".ref", m["big"]).EnsureSuccess("read back");
        }
        finally
        {
            File.Delete(m.Path + ".ref");
        }
    }

    [Fact]
    public void Appending_32_MiB_in_64_KiB_writes_copies_nothing()
    {
        var fs = new ShmFileSystem(new MmapAddressSpaceOptions { Quota = 64 * MiB });
        using var m = TempMount.Create(fs);
        Run.Shell($"dd if=/dev/zero of='{m["f"]}' bs=64k count=512 status=none").EnsureSuccess("append");
        Assert.Equal(32 * MiB, fs.RegionOf("/f")!.Length);
        Assert.Equal(0, fs.BytesCopiedByResizes);
    }

    [Fact]
    public void Files_share_the_quota_counted_once_each_and_truncating_down_frees_it()
    {
        var fs = new ShmFileSystem(new MmapAddressSpaceOptions { Quota = 64 * MiB });
        using var m = TempMount.Create(fs);
        Run.Shell($"""
            set -e
            dd if=/dev/zero of='{m["a"]}' bs=64k count=480 status=none
            dd if=/dev/zero of='{m["b"]}' bs=64k count=480 status=none
            """).EnsureSuccess("two files of 30 MiB");
        Assert.Equal(60 * MiB, fs.AddressSpace.Usage.Reserved);
        var third = Run.Shell($"dd if=/dev/zero of='{m["c"]}' bs=64k count=128 status=none");
        Assert.Contains("Disk quota exceeded", third.StdErr);
        Run.Shell($"rm '{m["c"]}'").EnsureSuccess("rm");
        // Truncating down while the file is being written (its creating open; later opens seal the size).
        const string script = """
            import os, sys
            fd = os.open(sys.argv[1], os.O_CREAT | os.O_TRUNC | os.O_WRONLY, 0o600)
            for _ in range(480): os.write(fd, bytes(65536))
            os.ftruncate(fd, 10 << 20)
            os.close(fd)
            """;
        Run.PythonScript(script, m["a"]).EnsureSuccess("rewrite and truncate down");
        Assert.Equal(10 * MiB, fs.RegionOf("/a")!.Length);
        Run.Shell($"dd if=/dev/zero of='{m["c"]}' bs=64k count=320 status=none").EnsureSuccess("the freed quota is usable");
        Assert.Equal(60 * MiB, fs.AddressSpace.Usage.Reserved);
    }

    [Fact]
    public void A_file_sealed_by_a_passthrough_open_is_copied_once_when_resized_later_then_grows_in_place()
    {
        var fs = new ShmFileSystem(new MmapAddressSpaceOptions { Quota = 64 * MiB });
        using var m = TempMount.Create(fs);
        if (!KernelFeatures.ExpectPassthrough(fs.Binder)) return; // without passthrough no open seals a file
        Run.Shell($"head -c {MiB} /dev/urandom > '{m.Path}.ref' && cp '{m.Path}.ref' '{m["f"]}'").EnsureSuccess("create");
        try
        {
            using (var c = MmapClientProcess.Start()) // a passthrough open: the region is sealed from now on
            {
                c.Ok($"open {m["f"]}");
                Assert.False(fs.RegionOf("/f")!.IsResizable);
                c.Ok("close");
            }
            Assert.Equal(0, fs.BytesCopiedByResizes);
            // truncate(2) by path opens nothing, so it reaches a closed, sealed file: one copy into a resizable region.
            const string script = """
                import os, sys
                os.truncate(sys.argv[1], 2 << 20)
                os.truncate(sys.argv[1], 3 << 20)
                """;
            Run.PythonScript(script, m["f"]).EnsureSuccess("truncate by path");
            Assert.Equal(MiB, fs.BytesCopiedByResizes);
            Assert.Equal(3 * MiB, fs.RegionOf("/f")!.Length);
            Assert.Equal(3 * MiB, fs.AddressSpace.Usage.Reserved);
            Run.Process("cmp", "-n", MiB.ToString(), m.Path + ".ref", m["f"]).EnsureSuccess("data kept");
        }
        finally
        {
            File.Delete(m.Path + ".ref");
        }
    }
}
