using System.Text;
using DirectFuse.DirectMmap;
using DirectFuse.Examples.Shmfs;
using DirectFuse.Tests.Infrastructure;

namespace DirectFuse.Tests.DirectMmap;

/// <summary>shmfs on real mounts: files created by clients, served from regions the server can see and edit.</summary>
public sealed class ShmfsTests
{
    private const int EPERM = 1;

    [Fact]
    public void Clients_create_files_with_write_and_ftruncate_and_sizes_are_exact()
    {
        var fs = new ShmFileSystem();
        using var m = TempMount.Create(fs);
        Run.Shell($"""
            set -e
            cd '{m.Path}'
            echo hello > greeting
            test "$(cat greeting)" = hello
            test "$(stat -c %s greeting)" = 6
            truncate -s 10000 sized && test "$(stat -c %s sized)" = 10000
            mkdir -p a/b && echo x > a/b/f && mv a c && test "$(cat c/b/f)" = x
            dd if=/dev/urandom of=blob bs=64k count=4 status=none && cmp blob blob
            rm -r c && test ! -e c
            ls
            """).EnsureSuccess("shell");
        Assert.Equal("hello\n", Encoding.ASCII.GetString(fs.RegionOf("/greeting")!.Span));
        Assert.Equal(10000, fs.RegionOf("/sized")!.Length);
        Assert.Equal(8192 + 4096, fs.RegionOf("/sized")!.Size); // the address-space extent is page-rounded
    }

    [Fact]
    public void Shm_open_style_create_ftruncate_mmap_then_zero_copy_reopen()
    {
        var fs = new ShmFileSystem();
        using var m = TempMount.Create(fs);
        if (!KernelFeatures.ExpectPassthrough(fs.Binder)) return;
        const string script = """
            import mmap, os, sys
            p = sys.argv[1]
            fd = os.open(p, os.O_CREAT | os.O_RDWR, 0o600)   # empty at open: a served open
            os.ftruncate(fd, 65536)
            mm = mmap.mmap(fd, 65536, mmap.MAP_SHARED)
            mm[0:5] = b'first'
            mm.flush(); mm.close(); os.close(fd)
            print('ok')
            """;
        Run.PythonScript(script, m["segment"]).EnsureSuccess("python create");
        var region = fs.RegionOf("/segment")!;
        Assert.Equal("first", Encoding.ASCII.GetString(region.GetSpan(0, 5)));
        using var c = MmapClientProcess.Start();   // reopened with a region: passthrough
        c.Ok($"open {m["segment"]}");
        c.Ok("map 65536");
        Assert.Equal("first", c.Ok("read 0 5"));
        c.Ok("write 100 client");
        Assert.Equal("client", Encoding.ASCII.GetString(region.GetSpan(100, 6)));   // the same pages
        "server"u8.CopyTo(region.GetSpan(200, 6));
        Assert.Equal("server", c.Ok("read 200 6"));
        Assert.Equal(DirectMmapMode.Passthrough, fs.Binder.Mode);
    }

    [Fact]
    public void A_file_with_data_is_a_sealed_region_until_recreated()
    {
        var fs = new ShmFileSystem();
        using var m = TempMount.Create(fs);
        Run.Shell($"head -c 8192 /dev/zero > '{m["fixed"]}'").EnsureSuccess("create");
        if (!KernelFeatures.ExpectPassthrough(fs.Binder))
        {
            // Without passthrough every open is served and files stay resizable: nothing is sealed (kernel-facts:
            // "Other kernels"). The server sees each size change, and the region follows it.
            Run.Process("truncate", "-s", "100", m["fixed"]).EnsureSuccess("truncate without passthrough");
            Assert.Equal(100, fs.RegionOf("/fixed")!.Length);
            Assert.Equal(100, new FileInfo(m["fixed"]).Length);
            return;
        }
        using (var c = MmapClientProcess.Start())
        {
            c.Ok($"open {m["fixed"]}");
            Assert.Equal($"error {EPERM}", c.Send("truncate 100"));
            Assert.Equal($"error {EPERM}", c.Send("pwrite 8192 more"));
            // Crossing the end: short on 6.18, refused whole on 6.12 (as FmmapTests.Clients_can_neither_grow_nor_shrink_a_region).
            Assert.Contains(c.Send("pwrite 8190 end"), new[] { "ok 2", $"error {EPERM}" });
            c.Ok("close");
        }
        var again = Run.Process("truncate", "-s", "100", m["fixed"]);
        Assert.Contains("Operation not permitted", again.StdErr);
        Assert.Equal(8192, fs.RegionOf("/fixed")!.Length);
        // Recreating it (O_TRUNC) makes it a file being sized again.
        Run.Shell($": > '{m["fixed"]}' && truncate -s 100 '{m["fixed"]}'").EnsureSuccess("recreate");
        Assert.Equal(100, fs.RegionOf("/fixed")!.Length);
    }

    [Fact]
    public void The_quota_refuses_growth_with_EDQUOT()
    {
        var fs = new ShmFileSystem(new MmapAddressSpaceOptions { Quota = 64 * 1024 });
        using var m = TempMount.Create(fs);
        var dd = Run.Shell($"dd if=/dev/zero of='{m["big"]}' bs=16k count=8 status=none");
        Assert.NotEqual(0, dd.ExitCode);
        Assert.Contains("Disk quota exceeded", dd.StdErr);
        Assert.True(fs.AddressSpace.Usage.Reserved <= 64 * 1024);
        Run.Shell($"rm '{m["big"]}' && dd if=/dev/zero of='{m["small"]}' bs=16k count=2 status=none").EnsureSuccess("after rm");
    }

    [Fact]
    public void Page_cache_mode_serves_every_open_and_server_edits_reach_clients()
    {
        var fs = new ShmFileSystem(mode: DirectMmapMode.PageCache);
        using var m = TempMount.Create(fs);
        Run.Shell($"printf 'aaaaaaaaaa' > '{m["f"]}'").EnsureSuccess("create");
        Assert.Equal("aaaaaaaaaa", Run.Process("cat", m["f"]).EnsureSuccess("cat").StdOut);
        using var c = MmapClientProcess.Start();
        c.Ok($"open {m["f"]}");
        c.Ok("map 10");
        Assert.Equal("aaaaaaaaaa", c.Ok("read 0 10"));
        "bbb"u8.CopyTo(fs.RegionOf("/f")!.GetSpan(2, 3));
        fs.Edited("/f", 0, 10);
        Assert.Equal("aabbbaaaaa", c.Ok("read 0 10"));
    }
}
